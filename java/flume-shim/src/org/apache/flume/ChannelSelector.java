// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

import java.util.List;
import org.apache.flume.conf.Configurable;

/** Chooses a source's channels for each event. */
public interface ChannelSelector extends NamedComponent, Configurable {
  public void setChannels(List<Channel> channels);

  public List<Channel> getRequiredChannels(Event event);

  public List<Channel> getOptionalChannels(Event event);

  public List<Channel> getAllChannels();
}
