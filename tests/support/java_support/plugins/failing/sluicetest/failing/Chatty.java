package sluicetest.failing;

import java.util.List;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.interceptor.Interceptor;

/** An interceptor that passes every event and prints lines in a loop from its start on. */
public class Chatty implements Interceptor {
  @Override
  public void initialize() {
    Thread t = new Thread(() -> {
      long i = 0;
      while (true) {
        System.out.println("chatty line " + i++ + " of a plugin that prints too much");
      }
    }, "chatty");
    t.setDaemon(true);
    t.start();
  }

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
      return new Chatty();
    }
  }
}
