// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.channel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flume.Channel;
import org.apache.flume.ChannelSelector;
import org.apache.flume.FlumeException;

/** A selector's channels and name, and the look-ups custom selectors use. */
public abstract class AbstractChannelSelector implements ChannelSelector {
  private List<Channel> channels;
  private String name;

  @Override
  public List<Channel> getAllChannels() {
    return channels;
  }

  @Override
  public void setChannels(List<Channel> channels) {
    this.channels = channels;
  }

  @Override
  public synchronized void setName(String name) {
    this.name = name;
  }

  @Override
  public synchronized String getName() {
    return name;
  }

  /** The channels by name. */
  protected Map<String, Channel> getChannelNameMap() {
    Map<String, Channel> m = new HashMap<String, Channel>();
    for (Channel ch : getAllChannels()) {
      m.put(ch.getName(), ch);
    }
    return m;
  }

  /** The channels a space-separated list names; an unknown name is an error. */
  protected List<Channel> getChannelListFromNames(
      String channels, Map<String, Channel> channelNameMap) {
    List<Channel> out = new ArrayList<Channel>();
    if (channels == null || channels.trim().isEmpty()) {
      return out;
    }
    for (String n : channels.trim().split("\\s+")) {
      Channel ch = channelNameMap.get(n);
      if (ch == null) {
        throw new FlumeException("Selector channel not found: " + n);
      }
      out.add(ch);
    }
    return out;
  }
}
