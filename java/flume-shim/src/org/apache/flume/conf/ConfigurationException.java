// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.conf;

import org.apache.flume.FlumeException;

/** A configuration is not usable. */
public class ConfigurationException extends FlumeException {
  private static final long serialVersionUID = 1L;

  public ConfigurationException(String arg0) {
    super(arg0);
  }

  public ConfigurationException(Throwable arg0) {
    super(arg0);
  }

  public ConfigurationException(String arg0, Throwable arg1) {
    super(arg0, arg1);
  }
}
