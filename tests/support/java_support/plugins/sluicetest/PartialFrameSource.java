// Test plugin: a pollable source that writes the start of a frame to the host's stdout (the
// agent's protocol pipe) behind the host's back, a 4-byte length announcing 1 MiB and two
// bytes of it, then sleeps: the agent's reader is left inside a frame that never completes.
// It waits 2 s first, so that the host's answer to START is written before (a partial frame
// ahead of it would only delay START, which has a deadline of its own).
package sluicetest;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.PollableSource;
import org.apache.flume.source.AbstractSource;

public class PartialFrameSource extends AbstractSource implements PollableSource {
  private boolean written;

  @Override
  public Status process() throws EventDeliveryException {
    if (!written) {
      written = true;
      try {
        Thread.sleep(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Status.BACKOFF;
      }
      try {
        FileOutputStream out = new FileOutputStream(FileDescriptor.out);
        out.write(new byte[] {0x00, 0x10, 0x00, 0x00, (byte) 0x90, 0x00});
        out.flush();
      } catch (IOException e) {
        throw new EventDeliveryException(e);
      }
    }
    try {
      Thread.sleep(600_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return Status.BACKOFF;
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
