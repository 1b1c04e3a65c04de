// Test plugin: a pollable source that puts one "oom" event and then fills the heap.
package sluicetest;

import java.util.ArrayList;
import java.util.List;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.event.EventBuilder;
import org.apache.flume.source.AbstractPollableSource;
import org.apache.flume.Context;

public class OomSource extends AbstractPollableSource {
  private final List<long[]> hoard = new ArrayList<long[]>();

  @Override
  protected void doConfigure(Context context) {}

  @Override
  protected void doStart() {}

  @Override
  protected void doStop() {}

  @Override
  protected Status doProcess() throws EventDeliveryException {
    getChannelProcessor().processEvent(EventBuilder.withBody("oom".getBytes()));
    while (true) {
      hoard.add(new long[1 << 20]);
    }
  }
}
