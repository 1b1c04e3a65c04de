package sluicetest.icpt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.event.EventBuilder;
import org.apache.flume.interceptor.Interceptor;

/**
 * Adds one event at the end of each batch: a body of every byte value but the newline (0-9,
 * 11-255) and the headers `service` = `service` (the key's value) and `note` = "é".
 */
public class BatchMarker implements Interceptor {
  static final byte[] BODY = new byte[255];

  static {
    int i = 0;
    for (int b = 0; b < 256; b++) {
      if (b != '\n') {
        BODY[i++] = (byte) b;
      }
    }
  }

  private final String service;

  BatchMarker(String service) {
    this.service = service;
  }

  @Override
  public void initialize() {}

  @Override
  public Event intercept(Event e) {
    return e;
  }

  @Override
  public List<Event> intercept(List<Event> events) {
    List<Event> out = new ArrayList<Event>(events);
    Map<String, String> h = new HashMap<String, String>();
    h.put("service", service);
    h.put("note", "\u00e9");
    out.add(EventBuilder.withBody(BODY.clone(), h));
    return out;
  }

  @Override
  public void close() {}

  public static class Builder implements Interceptor.Builder {
    private String service;

    @Override
    public void configure(Context c) {
      service = c.getString("service", "marker");
    }

    @Override
    public Interceptor build() {
      return new BatchMarker(service);
    }
  }
}
