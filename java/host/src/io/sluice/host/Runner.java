// Sluice's Java host: the threads that call process() in a loop, as Flume's runners do.
package io.sluice.host;

import org.apache.flume.EventDeliveryException;
import org.apache.flume.PollableSource;
import org.apache.flume.Sink;
import org.apache.flume.SinkProcessor;

/**
 * PollableSourceRunner's loop (BACKOFF sleeps min(consecutive * increment, max); an exception
 * sleeps the max) or SinkRunner's with the default sink processor (BACKOFF sleeps
 * min(consecutive * 1000, 5000) ms; an exception 5000 ms).
 */
final class Runner {
  /** How long stop() waits for the loop to end after interrupting it. */
  static final long JOIN_MS = 3000;
  static final long SINK_BACKOFF_INCREMENT_MS = 1000;
  static final long SINK_MAX_BACKOFF_MS = 5000;

  private interface Poll {
    boolean process() throws EventDeliveryException;
  }

  private final Thread thread;
  private volatile boolean stopping;

  private Runner(String name, Poll poll, long increment, long max) {
    thread = new Thread(() -> loop(poll, increment, max), name);
    thread.setDaemon(true);
    thread.start();
  }

  static Runner source(PollableSource s) {
    return new Runner("PollableSourceRunner-" + s.getName(),
        () -> s.process() == PollableSource.Status.BACKOFF,
        s.getBackOffSleepIncrement(), s.getMaxBackOffSleepInterval());
  }

  static Runner sink(Sink s) {
    return new Runner("SinkRunner-" + s.getName(),
        () -> s.process() == Sink.Status.BACKOFF,
        SINK_BACKOFF_INCREMENT_MS, SINK_MAX_BACKOFF_MS);
  }

  static Runner processor(String group, SinkProcessor p) {
    return new Runner("SinkRunner-" + group, () -> p.process() == Sink.Status.BACKOFF,
        SINK_BACKOFF_INCREMENT_MS, SINK_MAX_BACKOFF_MS);
  }

  private void loop(Poll poll, long increment, long max) {
    long consecutive = 0;
    while (!stopping && !Thread.currentThread().isInterrupted()) {
      try {
        if (poll.process()) {
          consecutive++;
          Thread.sleep(Math.min(consecutive * increment, max));
        } else {
          consecutive = 0;
        }
      } catch (InterruptedException e) {
        return;
      } catch (Throwable t) {
        Host.fatalIfVm(t);
        if (stopping) {
          return;
        }
        System.err.println("ERROR " + thread.getName() + " Unhandled exception, logging and"
            + " sleeping for " + max + "ms");
        t.printStackTrace();
        try {
          Thread.sleep(max);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  void stop() {
    stopping = true;
    thread.interrupt();
    try {
      thread.join(JOIN_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
