// Reads lines of tab-separated key, value, key, value, ... and prints, per line, what a
// `new HashMap<>()` filled with those pairs in that order prints (`AbstractMap.toString()`):
// the order Flume's HEADER_AND_TEXT serializer and logger sink write an event's headers in.
// Used by tests/java/hashmap_order.rs to check Sluice's emulation (sluice_wire::java_map).
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;

public class HashMapOrder {
  public static void main(String[] args) throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out =
        new PrintStream(new BufferedOutputStream(System.out), false, StandardCharsets.UTF_8);
    String line;
    while ((line = in.readLine()) != null) {
      String[] t = line.split("\t", -1);
      HashMap<String, String> m = new HashMap<>();
      for (int i = 0; i + 1 < t.length; i += 2) {
        m.put(t[i], t[i + 1]);
      }
      out.print(m);
      out.print('\n');
    }
    out.flush();
  }
}
