// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

/** A source whose process() is called in a loop by a runner thread. */
public interface PollableSource extends Source {
  public Status process() throws EventDeliveryException;

  public long getBackOffSleepIncrement();

  public long getMaxBackOffSleepInterval();

  public static enum Status {
    READY, BACKOFF
  }
}
