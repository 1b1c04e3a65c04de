// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

import org.apache.flume.lifecycle.LifecycleAware;

/** A sink: its process() is called in a loop by a runner thread. */
public interface Sink extends LifecycleAware, NamedComponent {
  public void setChannel(Channel channel);

  public Channel getChannel();

  public Status process() throws EventDeliveryException;

  public static enum Status {
    READY, BACKOFF
  }
}
