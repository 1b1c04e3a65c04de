// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.source;

/** The back-off keys of pollable sources and their defaults. */
public class PollableSourceConstants {
  public static final String BACKOFF_SLEEP_INCREMENT = "backoffSleepIncrement";
  public static final String MAX_BACKOFF_SLEEP = "maxBackoffSleep";
  public static final long DEFAULT_BACKOFF_SLEEP_INCREMENT = 1000;
  public static final long DEFAULT_MAX_BACKOFF_SLEEP = 5000;
}
