// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.event;

import java.util.HashMap;
import java.util.Map;
import org.apache.flume.Event;

/** A plain event. */
public class SimpleEvent implements Event {
  private Map<String, String> headers;
  private byte[] body;

  public SimpleEvent() {
    headers = new HashMap<String, String>();
    body = new byte[0];
  }

  @Override
  public Map<String, String> getHeaders() {
    return headers;
  }

  @Override
  public void setHeaders(Map<String, String> headers) {
    this.headers = headers;
  }

  @Override
  public byte[] getBody() {
    return body;
  }

  @Override
  public void setBody(byte[] body) {
    this.body = body == null ? new byte[0] : body;
  }

  @Override
  public String toString() {
    Integer bodyLen = null;
    if (body != null) {
      bodyLen = body.length;
    }
    return "[Event headers = " + headers + ", body.length = " + bodyLen + " ]";
  }
}
