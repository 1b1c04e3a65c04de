// Sluice's Java host: a sink's channel, backed by a take transaction in the agent.
package io.sluice.host;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.flume.Channel;
import org.apache.flume.ChannelException;
import org.apache.flume.Event;
import org.apache.flume.Transaction;
import org.apache.flume.lifecycle.LifecycleState;

/**
 * A sink's view of its Sluice channel. Each Transaction is one take transaction of the agent
 * (opened by its first take): commit commits it, rollback returns its events to the head of
 * the channel in order. take() fetches ahead as many events as the previous transaction
 * took (then one at a time); the ones the plugin did not take before commit (it took fewer
 * than the transaction before) are put back by the agent before the take commits. One transaction is open at a time
 * (Flume's channels hand each thread its own; a second thread here waits for the first).
 */
final class HostChannel implements Channel {
  static final int MAX_FETCH = 10_000;

  private final Agent agent;
  private final ThreadLocal<Tx> current = new ThreadLocal<Tx>();
  private final ReentrantLock one = new ReentrantLock(true);
  private volatile int learned = 1;
  private String name;

  HostChannel(Agent agent, String name) {
    this.agent = agent;
    this.name = name;
  }

  @Override
  public void put(Event event) throws ChannelException {
    throw new ChannelException("a Sluice sink's channel does not accept puts");
  }

  @Override
  public Event take() throws ChannelException {
    Tx tx = current.get();
    if (tx == null || tx.state != 1) {
      throw new IllegalStateException("take() outside a begun transaction");
    }
    return tx.take();
  }

  @Override
  public Transaction getTransaction() {
    Tx tx = current.get();
    if (tx == null || tx.state == 3) {
      tx = new Tx();
      current.set(tx);
    }
    return tx;
  }

  @Override
  public void start() {}

  @Override
  public void stop() {}

  @Override
  public LifecycleState getLifecycleState() {
    return LifecycleState.START;
  }

  @Override
  public void setName(String name) {
    this.name = name;
  }

  @Override
  public String getName() {
    return name;
  }

  private static void check(Wire.Frame reply) {
    try {
      int status = reply.body.readUnsignedByte();
      String message = Wire.str(reply.body);
      if (status != Wire.OK) {
        throw new ChannelException(message);
      }
    } catch (IOException e) {
      throw new ChannelException("a malformed reply from the agent", e);
    }
  }

  /** States: 0 new, 1 open, 2 committed or rolled back, 3 closed. */
  private final class Tx implements Transaction {
    int state = 0;
    boolean agentOpen = false;
    int taken = 0;
    final ArrayDeque<Event> ahead = new ArrayDeque<Event>();

    @Override
    public void begin() {
      if (state != 0) {
        throw new IllegalStateException("begin() called when transaction is " + state);
      }
      one.lock();
      state = 1;
    }

    Event take() {
      if (ahead.isEmpty()) {
        // The rest of what the previous committed transaction took, in one go; past that, one
        // at a time (so a plugin is never sent more than it takes, unless it takes fewer than
        // the transaction before).
        int want = taken < learned ? Math.min(MAX_FETCH, learned - taken) : 1;
        Wire.Frame reply;
        try {
          reply = agent.call(Wire.TAKE, Wire.payload().u32(want).done());
        } catch (IOException e) {
          throw new ChannelException("cannot encode a take", e);
        }
        agentOpen = true;
        if (reply.type == Wire.TX_DONE) {
          check(reply);
          throw new ChannelException("the agent refused the take");
        }
        try {
          List<Event> got = Wire.events(reply.body);
          ahead.addAll(got);
        } catch (IOException e) {
          throw new ChannelException("a malformed batch from the agent", e);
        }
      }
      Event e = ahead.poll();
      if (e != null) {
        taken++;
      }
      return e;
    }

    @Override
    public void commit() {
      if (state != 1) {
        throw new IllegalStateException("commit() called when transaction is " + state);
      }
      if (agentOpen) {
        int unused = ahead.size();
        ahead.clear();
        // Whatever the answer, the agent's transaction is over (a failed commit rolled back);
        // the plugin may still call rollback(), as after any failed commit in Flume.
        agentOpen = false;
        learned = Math.max(1, Math.min(MAX_FETCH, taken));
        try {
          check(agent.call(Wire.COMMIT, Wire.payload().u32(unused).done()));
        } catch (IOException e) {
          throw new ChannelException("cannot encode a commit", e);
        }
      }
      state = 2;
    }

    @Override
    public void rollback() {
      if (state != 1) {
        throw new IllegalStateException("rollback() called when transaction is " + state);
      }
      state = 2;
      ahead.clear();
      if (agentOpen) {
        agentOpen = false;
        check(agent.call(Wire.ROLLBACK, new byte[0]));
      }
    }

    @Override
    public void close() {
      if (state == 3) {
        return;
      }
      boolean wasOpen = state == 1;
      if (wasOpen) {
        try {
          rollback();
        } catch (RuntimeException e) {
          // The agent rolls back a transaction whose JVM is gone.
        }
      }
      if (state != 0) {
        one.unlock();
      }
      state = 3;
      current.remove();
      if (wasOpen) {
        throw new IllegalStateException("close() called when transaction is OPEN - you must"
            + " either commit or rollback first (rolled back)");
      }
    }
  }
}
