// Sluice's Java host: requests to the agent and their replies.
package io.sluice.host;

import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.flume.ChannelException;

/**
 * The agent as the plugin's threads see it: one request at a time (a lock), its reply
 * handed over by the reader thread. A plugin's threads wait here while the agent commits.
 */
final class Agent {
  private final Wire wire;
  private final ReentrantLock one = new ReentrantLock(true);
  private final BlockingQueue<Wire.Frame> replies = new ArrayBlockingQueue<Wire.Frame>(1);

  Agent(Wire wire) {
    this.wire = wire;
  }

  /** Sends a request and waits for its reply (a frame of one of the reply types). */
  Wire.Frame call(int type, byte[] payload) {
    one.lock();
    try {
      wire.send(type, payload);
      Wire.Frame reply = replies.take();
      if (reply.type < 0) {
        throw new ChannelException("the agent is gone");
      }
      return reply;
    } catch (IOException e) {
      throw new ChannelException("the agent is gone", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ChannelException("interrupted while waiting for the agent", e);
    } finally {
      one.unlock();
    }
  }

  /** Sends a frame that has no reply. */
  void tell(int type, byte[] payload) {
    try {
      wire.send(type, payload);
    } catch (IOException e) {
      // The agent is gone; the reader thread ends the JVM.
    }
  }

  /** The reader thread hands a reply over. */
  void reply(Wire.Frame f) throws InterruptedException {
    replies.put(f);
  }
}
