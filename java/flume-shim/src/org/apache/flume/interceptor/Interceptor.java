// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.interceptor;

import java.util.List;
import org.apache.flume.Event;
import org.apache.flume.conf.Configurable;

/** Changes, drops or adds events between a source and its channel selector. */
public interface Interceptor {
  /** Called once before the first batch. */
  public void initialize();

  /** One event: the event to go on with, or null to drop it. */
  public Event intercept(Event event);

  /** A batch: the events to go on with, in order. */
  public List<Event> intercept(List<Event> events);

  /** Called once after the last batch. */
  public void close();

  /** Configured with the interceptor's keys, then asked for the interceptor. */
  public interface Builder extends Configurable {
    public Interceptor build();
  }
}
