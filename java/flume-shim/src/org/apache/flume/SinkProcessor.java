// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

import java.util.List;
import org.apache.flume.Sink.Status;
import org.apache.flume.conf.Configurable;
import org.apache.flume.lifecycle.LifecycleAware;

/** Drives a sink group's sinks: its process() is called in a loop by the group's runner. */
public interface SinkProcessor extends LifecycleAware, Configurable {
  public Status process() throws EventDeliveryException;

  public void setSinks(List<Sink> sinks);
}
