package sluicetest.icpt;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.interceptor.Interceptor;

/**
 * Passes every event, but the first time a batch holds a body equal to `at` it fails: with
 * `mode = throw` it throws IllegalStateException("boom at ..."), with `mode = exit` it calls
 * System.exit(5). "The first time" is remembered in the file `once` (it outlives the JVM).
 */
public class Faulty implements Interceptor {
  private final String at;
  private final String mode;
  private final File once;

  Faulty(String at, String mode, File once) {
    this.at = at;
    this.mode = mode;
    this.once = once;
  }

  @Override
  public void initialize() {}

  @Override
  public Event intercept(Event e) {
    return e;
  }

  @Override
  public List<Event> intercept(List<Event> events) {
    for (Event e : events) {
      if (new String(e.getBody(), StandardCharsets.UTF_8).equals(at) && firstTime()) {
        if (mode.equals("exit")) {
          System.exit(5);
        }
        throw new IllegalStateException("boom at " + at);
      }
    }
    return events;
  }

  private boolean firstTime() {
    try {
      return once.createNewFile();
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
  }

  @Override
  public void close() {}

  public static class Builder implements Interceptor.Builder {
    private String at;
    private String mode;
    private File once;

    @Override
    public void configure(Context c) {
      at = c.getString("at");
      mode = c.getString("mode", "throw");
      once = new File(c.getString("once"));
    }

    @Override
    public Interceptor build() {
      return new Faulty(at, mode, once);
    }
  }
}
