// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.lifecycle;

/** A component that is started and stopped. */
public interface LifecycleAware {
  public void start();

  public void stop();

  public LifecycleState getLifecycleState();
}
