package sluicetest.ser;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.serialization.EventSerializer;

/**
 * A length-prefixed format: the `magic` key's 4 bytes when a file is created; per event `R`,
 * a 4-byte header count, each key and value as a 2-byte length and UTF-8, a 4-byte body length
 * and the body; `E` and a 4-byte count of the events this serializer wrote before the file is
 * closed. Buffered: nothing reaches the stream before flush().
 */
public class LengthPrefixed implements EventSerializer {
  private final DataOutputStream out;
  private final byte[] magic;
  private int written;

  LengthPrefixed(OutputStream out, byte[] magic) {
    this.out = new DataOutputStream(new java.io.BufferedOutputStream(out, 1 << 16));
    this.magic = magic;
  }

  @Override
  public void afterCreate() throws IOException {
    out.write(magic);
  }

  @Override
  public void afterReopen() throws IOException {}

  @Override
  public void write(Event e) throws IOException {
    out.writeByte('R');
    Map<String, String> h = e.getHeaders();
    out.writeInt(h.size());
    for (Map.Entry<String, String> kv : h.entrySet()) {
      text(kv.getKey());
      text(kv.getValue());
    }
    out.writeInt(e.getBody().length);
    out.write(e.getBody());
    written++;
  }

  private void text(String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeShort(b.length);
    out.write(b);
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void beforeClose() throws IOException {
    out.writeByte('E');
    out.writeInt(written);
    out.flush();
  }

  @Override
  public boolean supportsReopen() {
    return true;
  }

  public static class Builder implements EventSerializer.Builder {
    @Override
    public EventSerializer build(Context context, OutputStream out) {
      String magic = context.getString("magic", "LPF1");
      return new LengthPrefixed(out, magic.getBytes(StandardCharsets.UTF_8));
    }
  }
}
