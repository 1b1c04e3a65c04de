package sluicetest.icpt;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.interceptor.Interceptor;

/** Drops the events whose body's `"n":` number is a multiple of 10: one in ten. */
public class DropTenth implements Interceptor {
  private static final Pattern N = Pattern.compile("\"n\":(\\d+)");

  @Override
  public void initialize() {}

  @Override
  public Event intercept(Event e) {
    Matcher m = N.matcher(new String(e.getBody(), StandardCharsets.UTF_8));
    return m.find() && Long.parseLong(m.group(1)) % 10 == 0 ? null : e;
  }

  @Override
  public List<Event> intercept(List<Event> events) {
    List<Event> out = new ArrayList<Event>(events.size());
    for (Event e : events) {
      if (intercept(e) != null) {
        out.add(e);
      }
    }
    return out;
  }

  @Override
  public void close() {}

  public static class Builder implements Interceptor.Builder {
    @Override
    public void configure(Context c) {}

    @Override
    public Interceptor build() {
      return new DropTenth();
    }
  }
}
