// Sluice's Java host: a source's channel processor, backed by the agent.
package io.sluice.host;

import java.io.IOException;
import java.util.List;
import org.apache.flume.ChannelException;
import org.apache.flume.ChannelFullException;
import org.apache.flume.Event;
import org.apache.flume.channel.ChannelProcessor;

/** processEventBatch = one PUT; it returns once the agent's channels committed. */
final class HostChannelProcessor extends ChannelProcessor {
  private final Agent agent;

  HostChannelProcessor(Agent agent) {
    this.agent = agent;
  }

  @Override
  public void processEventBatch(List<Event> events) {
    if (events == null) {
      throw new NullPointerException("Event list may not be null");
    }
    if (events.isEmpty()) {
      return;
    }
    if (events.size() > Wire.MAX_EVENTS) {
      processEventBatch(events.subList(0, Wire.MAX_EVENTS));
      processEventBatch(events.subList(Wire.MAX_EVENTS, events.size()));
      return;
    }
    byte[] payload;
    try {
      payload = Wire.payload().events(events).done();
    } catch (IOException e) {
      throw new ChannelException("cannot encode the batch", e);
    }
    Wire.Frame reply = agent.call(Wire.PUT, payload);
    try {
      int status = reply.body.readUnsignedByte();
      String message = Wire.str(reply.body);
      if (status == Wire.FULL) {
        throw new ChannelFullException(message);
      }
      if (status != Wire.OK) {
        throw new ChannelException(message);
      }
    } catch (IOException e) {
      throw new ChannelException("a malformed reply from the agent", e);
    }
  }
}
