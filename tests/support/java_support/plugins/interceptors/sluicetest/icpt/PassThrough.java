package sluicetest.icpt;

import java.util.List;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.interceptor.Interceptor;

/** Returns every batch as it came: the cost of crossing to the JVM and back. */
public class PassThrough implements Interceptor {
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
    public void configure(Context c) {}

    @Override
    public Interceptor build() {
      return new PassThrough();
    }
  }
}
