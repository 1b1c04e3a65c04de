// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.instrumentation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A named group of counters. Sluice's host sends every group's counts to the agent, where
 * they appear in /metrics under the component's name.
 */
public abstract class MonitoredCounterGroup {
  private static final List<MonitoredCounterGroup> ALL =
      new CopyOnWriteArrayList<MonitoredCounterGroup>();
  private final Type type;
  private final String name;
  private final Map<String, AtomicLong> counterMap;
  private final AtomicLong startTime = new AtomicLong(0L);
  private final AtomicLong stopTime = new AtomicLong(0L);

  protected MonitoredCounterGroup(Type type, String name, String... attrs) {
    this.type = type;
    this.name = name;
    Map<String, AtomicLong> map = new HashMap<String, AtomicLong>();
    for (String attr : attrs) {
      map.put(attr, new AtomicLong(0L));
    }
    counterMap = map;
    ALL.add(this);
  }

  public void start() {
    for (AtomicLong counter : counterMap.values()) {
      counter.set(0L);
    }
    stopTime.set(0L);
    startTime.set(System.currentTimeMillis());
  }

  public void stop() {
    stopTime.set(System.currentTimeMillis());
  }

  public long getStartTime() {
    return startTime.get();
  }

  public long getStopTime() {
    return stopTime.get();
  }

  @Override
  public final String toString() {
    return type + ":" + name + "{" + counterMap + "}";
  }

  protected long get(String counter) {
    AtomicLong c = counterMap.get(counter);
    return c == null ? 0L : c.get();
  }

  protected void set(String counter, long value) {
    AtomicLong c = counterMap.get(counter);
    if (c != null) {
      c.set(value);
    }
  }

  protected long addAndGet(String counter, long delta) {
    AtomicLong c = counterMap.get(counter);
    return c == null ? 0L : c.addAndGet(delta);
  }

  protected long increment(String counter) {
    return addAndGet(counter, 1L);
  }

  public String getType() {
    return type.name();
  }

  /** Sluice: every group's type, name and counts (Flume's attribute names), for the host. */
  public static List<Object[]> sluiceSnapshot() {
    List<Object[]> out = new ArrayList<Object[]>();
    for (MonitoredCounterGroup g : ALL) {
      Map<String, Long> counts = new HashMap<String, Long>();
      for (Map.Entry<String, AtomicLong> e : g.counterMap.entrySet()) {
        counts.put(e.getKey(), e.getValue().get());
      }
      out.add(new Object[] {g.type.name(), g.name, counts});
    }
    return out;
  }

  public static enum Type {
    SOURCE, CHANNEL_PROCESSOR, CHANNEL, SINK_PROCESSOR, SINK, INTERCEPTOR, SERIALIZER, OTHER
  }
}
