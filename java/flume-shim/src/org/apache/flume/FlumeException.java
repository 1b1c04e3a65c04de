// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

/** Base of Flume's unchecked exceptions. */
public class FlumeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public FlumeException(String msg) {
    super(msg);
  }

  public FlumeException(String msg, Throwable th) {
    super(msg, th);
  }

  public FlumeException(Throwable th) {
    super(th);
  }
}
