// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.conf;

/** A component that says its batch size. */
public interface BatchSizeSupported {
  long getBatchSize();
}
