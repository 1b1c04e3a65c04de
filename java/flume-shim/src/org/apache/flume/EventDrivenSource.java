// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

/** A source that produces events from its own threads (started, then left alone). */
public interface EventDrivenSource extends Source {
}
