// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.conf;

import org.apache.flume.Context;

/** A component that reads its keys from a Context. */
public interface Configurable {
  public void configure(Context context);
}
