package sluicetest.sel;

import java.util.List;
import java.util.Map;
import org.apache.flume.Channel;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.channel.AbstractChannelSelector;

/**
 * Bodies shorter than `limit` bytes go to the `short` channels, the others to `long`; every
 * event also goes to the optional `audit` channels.
 */
public class ByLength extends AbstractChannelSelector {
  private int limit;
  private List<Channel> shortOnes;
  private List<Channel> longOnes;
  private List<Channel> audit;

  @Override
  public void configure(Context c) {
    Map<String, Channel> byName = getChannelNameMap();
    limit = c.getInteger("limit", 10);
    shortOnes = getChannelListFromNames(c.getString("short"), byName);
    longOnes = getChannelListFromNames(c.getString("long"), byName);
    audit = getChannelListFromNames(c.getString("audit", ""), byName);
  }

  @Override
  public List<Channel> getRequiredChannels(Event e) {
    return e.getBody().length < limit ? shortOnes : longOnes;
  }

  @Override
  public List<Channel> getOptionalChannels(Event e) {
    return audit;
  }
}
