package sluicetest.failing;

import java.io.File;
import java.util.List;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.interceptor.Interceptor;

/**
 * An interceptor whose builder's configure() throws NoClassDefFoundError for a Guava class, as
 * a plugin whose dependency is not in its libext/ does, while the file `failWhile` exists
 * (always, without the key); then it passes every event.
 */
public class Broken implements Interceptor {
  @Override
  public void initialize() {}

  @Override
  public Event intercept(Event e) {
    return e;
  }

  @Override
  public List<Event> intercept(List<Event> events) {
    return events;
  }

  @Override
  public void close() {}

  public static class Builder implements Interceptor.Builder {
    @Override
    public void configure(Context c) {
      String flag = c.getString("failWhile");
      if (flag == null || new File(flag).exists()) {
        throw new NoClassDefFoundError("com/google/common/base/Strings");
      }
    }

    @Override
    public Interceptor build() {
      return new Broken();
    }
  }
}
