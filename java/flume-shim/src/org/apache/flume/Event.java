// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

import java.util.Map;

/** A Flume event: string headers and a byte body. */
public interface Event {
  Map<String, String> getHeaders();

  void setHeaders(Map<String, String> headers);

  byte[] getBody();

  void setBody(byte[] body);
}
