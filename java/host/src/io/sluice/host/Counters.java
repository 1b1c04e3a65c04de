// Sluice's Java host: the plugin's counter groups, sent to the agent.
package io.sluice.host;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.flume.instrumentation.MonitoredCounterGroup;

/** Sends every counter group's counts once a second while they change, and at stop. */
final class Counters {
  static final long PERIOD_MS = 1000;
  private final Agent agent;
  private String last = "";

  Counters(Agent agent) {
    this.agent = agent;
  }

  void begin() {
    Thread t = new Thread(() -> {
      while (true) {
        try {
          Thread.sleep(PERIOD_MS);
        } catch (InterruptedException e) {
          return;
        }
        flush();
      }
    }, "sluice-counters");
    t.setDaemon(true);
    t.start();
  }

  /** COUNTERS: group count, then per group its type, name and (attribute, count) pairs. */
  synchronized void flush() {
    List<Object[]> groups = MonitoredCounterGroup.sluiceSnapshot();
    try {
      Wire.Payload p = Wire.payload().u32(groups.size());
      for (Object[] g : groups) {
        @SuppressWarnings("unchecked")
        Map<String, Long> counts = (Map<String, Long>) g[2];
        p.str((String) g[0]).str((String) g[1]).u32(counts.size());
        for (Map.Entry<String, Long> e : counts.entrySet()) {
          p.str(e.getKey()).u64(e.getValue());
        }
      }
      String now = groups.isEmpty() ? "" : java.util.Arrays.deepToString(groups.toArray());
      if (!now.equals(last)) {
        last = now;
        agent.tell(Wire.COUNTERS, p.done());
      }
    } catch (IOException e) {
      // Encoding into memory does not fail.
    }
  }
}
