// Sluice's Java host: the frames between the agent and this JVM (docs/java-plugins.md).
package io.sluice.host;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flume.Event;
import org.apache.flume.event.SimpleEvent;

/**
 * Frames: a 4-byte big-endian length of what follows, a 1-byte type, the payload. Strings and
 * byte arrays are a 4-byte big-endian length and the bytes (UTF-8 for strings); an event is
 * its header count, each key and value, and its body. The codes and limits match the
 * agent's crates/sluice-wire/src/java/frame.rs.
 */
final class Wire {
  static final int MAX_FRAME_BYTES = 64 << 20;
  static final int MAX_EVENTS = 100_000;

  // agent -> JVM
  static final int CONFIGURE = 0x01;
  static final int START = 0x02;
  static final int STOP = 0x03;
  static final int PUT_DONE = 0x10;
  static final int TAKEN = 0x11;
  static final int TX_DONE = 0x12;
  static final int INTERCEPT = 0x13;
  static final int SERIALIZE = 0x14;
  static final int SELECT = 0x15;
  static final int PROCESSED = 0x16;
  // JVM -> agent
  static final int ACK = 0x80;
  static final int PUT = 0x90;
  static final int TAKE = 0x91;
  static final int COMMIT = 0x92;
  static final int ROLLBACK = 0x93;
  static final int PROCESS = 0x94;
  static final int COUNTERS = 0xA0;
  static final int FAILED = 0xA1;
  static final int INTERCEPTED = 0xB0;
  static final int WRITTEN = 0xB1;
  static final int SELECTED = 0xB2;
  static final int THREW = 0xB3;

  static final int OK = 0;
  static final int FULL = 1;
  static final int ERROR = 2;

  /** One frame as read. */
  static final class Frame {
    final int type;
    final DataInputStream body;

    Frame(int type, byte[] payload) {
      this.type = type;
      this.body = new DataInputStream(new java.io.ByteArrayInputStream(payload));
    }
  }

  private final DataInputStream in;
  private final DataOutputStream out;

  Wire(InputStream in, OutputStream out) {
    this.in = new DataInputStream(new java.io.BufferedInputStream(in, 1 << 16));
    this.out = new DataOutputStream(new java.io.BufferedOutputStream(out, 1 << 16));
  }

  /** The next frame, or null at the end of the agent's stream. */
  Frame read() throws IOException {
    int len;
    try {
      len = in.readInt();
    } catch (EOFException e) {
      return null;
    }
    if (len < 1 || len > MAX_FRAME_BYTES) {
      throw new IOException("frame of " + len + " bytes (1 to " + MAX_FRAME_BYTES + ")");
    }
    int type = in.readUnsignedByte();
    byte[] payload = new byte[len - 1];
    in.readFully(payload);
    return new Frame(type, payload);
  }

  /** Sends one frame (whole, flushed); callable from any thread. */
  synchronized void send(int type, byte[] payload) throws IOException {
    out.writeInt(payload.length + 1);
    out.writeByte(type);
    out.write(payload);
    out.flush();
  }

  static Payload payload() {
    return new Payload();
  }

  /** A payload being written. */
  static final class Payload {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    final DataOutputStream data = new DataOutputStream(bytes);

    Payload u8(int v) throws IOException {
      data.writeByte(v);
      return this;
    }

    Payload u32(long v) throws IOException {
      data.writeInt((int) v);
      return this;
    }

    Payload u64(long v) throws IOException {
      data.writeLong(v);
      return this;
    }

    Payload str(String s) throws IOException {
      bytes(s == null ? new byte[0] : s.getBytes(StandardCharsets.UTF_8));
      return this;
    }

    Payload bytes(byte[] b) throws IOException {
      data.writeInt(b.length);
      data.write(b);
      return this;
    }

    Payload events(List<Event> events) throws IOException {
      u32(events.size());
      for (Event e : events) {
        Map<String, String> h = e.getHeaders();
        if (h == null) {
          u32(0);
        } else {
          u32(h.size());
          for (Map.Entry<String, String> kv : h.entrySet()) {
            str(kv.getKey());
            str(kv.getValue());
          }
        }
        byte[] body = e.getBody();
        bytes(body == null ? new byte[0] : body);
      }
      return this;
    }

    byte[] done() {
      return bytes.toByteArray();
    }
  }

  static String str(DataInputStream in) throws IOException {
    return new String(bytes(in), StandardCharsets.UTF_8);
  }

  static byte[] bytes(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > in.available()) {
      throw new IOException("a length of " + n + " past the frame's end");
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }

  static Map<String, String> map(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > in.available()) {
      throw new IOException("a count of " + n + " past the frame's end");
    }
    Map<String, String> m = new HashMap<String, String>();
    for (int i = 0; i < n; i++) {
      String k = str(in);
      m.put(k, str(in));
    }
    return m;
  }

  static List<Event> events(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > MAX_EVENTS) {
      throw new IOException("a batch of " + n + " events (at most " + MAX_EVENTS + ")");
    }
    List<Event> out = new ArrayList<Event>(n);
    for (int i = 0; i < n; i++) {
      SimpleEvent e = new SimpleEvent();
      e.setHeaders(map(in));
      e.setBody(bytes(in));
      out.add(e);
    }
    return out;
  }
}
