package sluicetest.proc;

import java.util.List;
import org.apache.flume.Context;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.Sink;
import org.apache.flume.sink.AbstractSinkProcessor;

/**
 * Each process() starts at the next sink in turn and goes on to the following ones while a
 * sink throws; READY when one delivered, BACKOFF when none had anything, and the last
 * exception when every sink failed. `first` is the index of the sink to start with.
 */
public class RoundRobin extends AbstractSinkProcessor {
  private int next;

  @Override
  public void configure(Context c) {
    next = c.getInteger("first", 0);
  }

  @Override
  public Sink.Status process() throws EventDeliveryException {
    List<Sink> sinks = getSinks();
    int start = next;
    next = (next + 1) % sinks.size();
    EventDeliveryException last = null;
    boolean backoff = false;
    for (int i = 0; i < sinks.size(); i++) {
      Sink s = sinks.get((start + i) % sinks.size());
      try {
        if (s.process() == Sink.Status.READY) {
          return Sink.Status.READY;
        }
        backoff = true;
      } catch (EventDeliveryException e) {
        last = e;
      }
    }
    if (backoff || last == null) {
      return Sink.Status.BACKOFF;
    }
    throw last;
  }
}
