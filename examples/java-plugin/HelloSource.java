// An example Flume plugin (docs/java-plugins.md): a pollable source that puts
// "<greeting> <n>" once a second. Compiled against Sluice's shim, it runs in Flume unchanged.
package example;

import org.apache.flume.Context;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.PollableSource;
import org.apache.flume.conf.Configurable;
import org.apache.flume.event.EventBuilder;
import org.apache.flume.source.AbstractSource;

public class HelloSource extends AbstractSource implements Configurable, PollableSource {
  private String greeting;
  private long n;

  @Override
  public void configure(Context context) {
    greeting = context.getString("greeting", "hello");
  }

  @Override
  public Status process() throws EventDeliveryException {
    getChannelProcessor().processEvent(EventBuilder.withBody((greeting + " " + n++).getBytes()));
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      return Status.BACKOFF;
    }
    return Status.READY;
  }

  @Override
  public long getBackOffSleepIncrement() {
    return 1000;
  }

  @Override
  public long getMaxBackOffSleepInterval() {
    return 5000;
  }
}
