// Sluice's Java host: a sink of a group driven by a Java sink processor.
package io.sluice.host;

import java.io.IOException;
import org.apache.flume.Channel;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.Sink;
import org.apache.flume.lifecycle.LifecycleState;

/**
 * One of Sluice's sinks as a Java sink processor sees it: process() asks the agent to run one
 * round of that sink (take a batch from its channel, deliver it, commit) and answers READY,
 * BACKOFF (nothing to take) or throws EventDeliveryException (the batch was rolled back).
 * Its lifecycle and channel are the agent's.
 */
final class GroupSink implements Sink {
  /** The processor's sink names, in order: a key of its CONFIGURE, not of its Context. */
  static final String SINKS_KEY = "sluice.sinks";

  private final Agent agent;
  private final int index;
  private String name;

  GroupSink(Agent agent, int index, String name) {
    this.agent = agent;
    this.index = index;
    this.name = name;
  }

  @Override
  public Status process() throws EventDeliveryException {
    Wire.Frame f;
    try {
      f = agent.call(Wire.PROCESS, Wire.payload().u32(index).done());
    } catch (IOException e) {
      throw new EventDeliveryException(e);
    }
    try {
      int status = f.body.readUnsignedByte();
      String message = Wire.str(f.body);
      if (status == 0) {
        return Status.READY;
      }
      if (status == 1) {
        return Status.BACKOFF;
      }
      throw new EventDeliveryException(message);
    } catch (IOException e) {
      throw new EventDeliveryException(e);
    }
  }

  @Override
  public void setChannel(Channel channel) {}

  @Override
  public Channel getChannel() {
    return null;
  }

  @Override
  public void start() {}

  @Override
  public void stop() {}

  @Override
  public LifecycleState getLifecycleState() {
    return LifecycleState.START;
  }

  @Override
  public void setName(String name) {
    this.name = name;
  }

  @Override
  public String getName() {
    return name;
  }
}
