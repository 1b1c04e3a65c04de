// Test plugin: a pollable source that puts "exit-<n>" events and then calls System.exit(1).
package sluicetest;

import org.apache.flume.Context;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.PollableSource;
import org.apache.flume.conf.Configurable;
import org.apache.flume.event.EventBuilder;
import org.apache.flume.source.AbstractSource;

public class ExitSource extends AbstractSource implements Configurable, PollableSource {
  private int exitAfter;
  private int n;

  @Override
  public void configure(Context context) {
    exitAfter = context.getInteger("exitAfter", 3);
  }

  @Override
  public Status process() throws EventDeliveryException {
    if (n >= exitAfter) {
      System.exit(1);
    }
    getChannelProcessor().processEvent(EventBuilder.withBody(("exit-" + n++).getBytes()));
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      return Status.BACKOFF;
    }
    return Status.READY;
  }

  @Override
  public long getBackOffSleepIncrement() {
    return 100;
  }

  @Override
  public long getMaxBackOffSleepInterval() {
    return 1000;
  }
}
