// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.serialization;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.flume.Context;
import org.apache.flume.Event;

/** Writes events into a sink's output stream. */
public interface EventSerializer {
  /** The prefix of a serializer's keys in a sink's context. */
  public static final String CTX_PREFIX = "serializer.";

  /** Called once after a new file is created (a header). */
  public void afterCreate() throws IOException;

  /** Called once after an existing file is opened to append to it. */
  public void afterReopen() throws IOException;

  /** Writes one event. */
  public void write(Event event) throws IOException;

  /** Writes out what is buffered. */
  public void flush() throws IOException;

  /** Called once before the file is closed (a footer). */
  public void beforeClose() throws IOException;

  /** Whether afterReopen() may be called. */
  public boolean supportsReopen();

  /** Makes a serializer for one output stream. */
  public interface Builder {
    public EventSerializer build(Context context, OutputStream out);
  }
}
