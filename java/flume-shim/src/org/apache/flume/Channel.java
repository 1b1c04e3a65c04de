// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

import org.apache.flume.lifecycle.LifecycleAware;

/** A channel; in Sluice a sink's view of a Sluice channel. */
public interface Channel extends LifecycleAware, NamedComponent {
  public void put(Event event) throws ChannelException;

  public Event take() throws ChannelException;

  public Transaction getTransaction();
}
