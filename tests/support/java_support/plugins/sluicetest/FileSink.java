// Test plugin: a sink that appends each event's body as a line to `path`, syncs the file,
// and only then commits (at-least-once into the file). `delayMs` delays each write.
package sluicetest;

import java.io.FileOutputStream;
import java.io.IOException;
import org.apache.flume.Channel;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.Transaction;
import org.apache.flume.conf.Configurable;
import org.apache.flume.sink.AbstractSink;

public class FileSink extends AbstractSink implements Configurable {
  private String path;
  private int batchSize;
  private long delayMs;
  private FileOutputStream out;

  @Override
  public void configure(Context context) {
    path = context.getString("path");
    batchSize = context.getInteger("batchSize", 10);
    delayMs = context.getLong("delayMs", 0L);
  }

  @Override
  public synchronized void start() {
    try {
      out = new FileOutputStream(path, true);
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
    super.start();
  }

  @Override
  public Status process() throws EventDeliveryException {
    Channel ch = getChannel();
    Transaction tx = ch.getTransaction();
    tx.begin();
    try {
      int n = 0;
      StringBuilder b = new StringBuilder();
      for (; n < batchSize; n++) {
        Event e = ch.take();
        if (e == null) {
          break;
        }
        b.append(new String(e.getBody(), "UTF-8")).append('\n');
      }
      // Slow delivery between the takes and the write: a kill lands here most of the time,
      // so an agent that made takes final before commit() would lose these events.
      if (delayMs > 0) {
        Thread.sleep(delayMs);
      }
      out.write(b.toString().getBytes("UTF-8"));
      out.getFD().sync();
      tx.commit();
      return n == 0 ? Status.BACKOFF : Status.READY;
    } catch (Throwable t) {
      tx.rollback();
      throw new EventDeliveryException(t);
    } finally {
      tx.close();
    }
  }
}
