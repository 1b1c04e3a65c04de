// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.channel;

import java.util.Collections;
import java.util.List;
import org.apache.flume.ChannelException;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.conf.Configurable;

/**
 * Where a source hands its events. In Sluice the interceptors, the selector and the channels
 * are the agent's own: a call returns only after every required channel committed the
 * events, and throws ChannelFullException when a channel had no room (as in Flume).
 */
public class ChannelProcessor implements Configurable {
  /** Made by Sluice's host, which overrides {@link #processEventBatch}. */
  protected ChannelProcessor() {}

  public void initialize() {}

  public void close() {}

  @Override
  public void configure(Context context) {}

  public void processEventBatch(List<Event> events) {
    throw new ChannelException("this channel processor is not connected to Sluice");
  }

  public void processEvent(Event event) {
    processEventBatch(Collections.singletonList(event));
  }
}
