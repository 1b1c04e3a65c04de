// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.sink;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.flume.Sink;
import org.apache.flume.SinkProcessor;
import org.apache.flume.lifecycle.LifecycleState;

/** A sink processor's sinks and lifecycle state. */
public abstract class AbstractSinkProcessor implements SinkProcessor {
  private LifecycleState state = LifecycleState.IDLE;
  private List<Sink> sinkList = Collections.emptyList();

  @Override
  public void start() {
    state = LifecycleState.START;
  }

  @Override
  public void stop() {
    state = LifecycleState.STOP;
  }

  @Override
  public LifecycleState getLifecycleState() {
    return state;
  }

  @Override
  public void setSinks(List<Sink> sinks) {
    sinkList = Collections.unmodifiableList(new ArrayList<Sink>(sinks));
  }

  protected List<Sink> getSinks() {
    return sinkList;
  }
}
