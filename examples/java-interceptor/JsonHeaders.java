package example;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.interceptor.Interceptor;

/** Parses each body as a JSON object and copies the `fields` it names into headers. */
public class JsonHeaders implements Interceptor {
  private final ObjectMapper mapper = new ObjectMapper();
  private final String[] fields;

  JsonHeaders(String[] fields) {
    this.fields = fields;
  }

  @Override
  public void initialize() {}

  @Override
  public Event intercept(Event e) {
    try {
      JsonNode n = mapper.readTree(e.getBody());
      for (String f : fields) {
        JsonNode v = n == null ? null : n.get(f);
        if (v != null && !v.isNull()) {
          e.getHeaders().put(f, v.asText());
        }
      }
    } catch (IOException ex) {
      e.getHeaders().put("parseError", "true");
    }
    return e;
  }

  @Override
  public List<Event> intercept(List<Event> events) {
    for (Event e : events) {
      intercept(e);
    }
    return events;
  }

  @Override
  public void close() {}

  public static class Builder implements Interceptor.Builder {
    private String[] fields;

    @Override
    public void configure(Context c) {
      fields = c.getString("fields", "service").trim().split("\\s+");
    }

    @Override
    public Interceptor build() {
      return new JsonHeaders(fields);
    }
  }
}
