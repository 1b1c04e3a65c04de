// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

/** A channel operation failed. */
public class ChannelException extends FlumeException {
  private static final long serialVersionUID = 1L;

  public ChannelException(String message) {
    super(message);
  }

  public ChannelException(Throwable ex) {
    super(ex);
  }

  public ChannelException(String message, Throwable ex) {
    super(message, ex);
  }
}
