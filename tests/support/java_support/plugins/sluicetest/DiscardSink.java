// Test plugin: a sink that takes up to batchSize events per transaction and drops them,
// counting with Flume's SinkCounter.
package sluicetest;

import org.apache.flume.Channel;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.Transaction;
import org.apache.flume.conf.Configurable;
import org.apache.flume.instrumentation.SinkCounter;
import org.apache.flume.sink.AbstractSink;

public class DiscardSink extends AbstractSink implements Configurable {
  private int batchSize;
  private SinkCounter counter;

  @Override
  public void configure(Context context) {
    batchSize = context.getInteger("batchSize", 100);
    counter = new SinkCounter(getName());
  }

  @Override
  public synchronized void start() {
    counter.start();
    super.start();
  }

  @Override
  public Status process() throws EventDeliveryException {
    Channel ch = getChannel();
    Transaction tx = ch.getTransaction();
    tx.begin();
    try {
      int n = 0;
      for (; n < batchSize; n++) {
        Event e = ch.take();
        if (e == null) {
          break;
        }
      }
      tx.commit();
      counter.addToEventDrainSuccessCount(n);
      if (n == 0) {
        counter.incrementBatchEmptyCount();
        return Status.BACKOFF;
      }
      return Status.READY;
    } catch (Throwable t) {
      tx.rollback();
      throw new EventDeliveryException(t);
    } finally {
      tx.close();
    }
  }
}
