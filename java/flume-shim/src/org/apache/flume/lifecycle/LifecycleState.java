// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.lifecycle;

/** Where a component is in its life. */
public enum LifecycleState {
  IDLE, START, STOP, ERROR;

  public static final LifecycleState[] START_OR_ERROR = new LifecycleState[] {START, ERROR};
  public static final LifecycleState[] STOP_OR_ERROR = new LifecycleState[] {STOP, ERROR};
}
