// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

/** The channel had no room for the events. */
public class ChannelFullException extends ChannelException {
  private static final long serialVersionUID = -8098141359417449525L;

  public ChannelFullException(String message) {
    super(message);
  }

  public ChannelFullException(Throwable ex) {
    super(ex);
  }

  public ChannelFullException(String message, Throwable ex) {
    super(message, ex);
  }
}
