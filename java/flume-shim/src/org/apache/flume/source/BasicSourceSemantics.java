// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.source;

import org.apache.flume.Context;
import org.apache.flume.FlumeException;
import org.apache.flume.Source;
import org.apache.flume.channel.ChannelProcessor;
import org.apache.flume.conf.Configurable;
import org.apache.flume.lifecycle.LifecycleState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A source base with doConfigure/doStart/doStop and a remembered start error. */
public abstract class BasicSourceSemantics implements Source, Configurable {
  private static final Logger logger = LoggerFactory.getLogger(BasicSourceSemantics.class);
  private Exception exception;
  private ChannelProcessor channelProcessor;
  private String name;
  private LifecycleState lifecycleState;

  public BasicSourceSemantics() {
    lifecycleState = LifecycleState.IDLE;
  }

  @Override
  public synchronized void configure(Context context) {
    if (isStarted()) {
      throw new IllegalStateException("Configure called when started");
    }
    try {
      exception = null;
      setLifecycleState(LifecycleState.IDLE);
      doConfigure(context);
    } catch (Exception e) {
      exception = e;
      setLifecycleState(LifecycleState.ERROR);
      if (e instanceof RuntimeException) {
        throw (RuntimeException) e;
      }
      throw new FlumeException(e);
    }
  }

  @Override
  public synchronized void start() {
    if (exception != null) {
      logger.error(String.format("Cannot start due to error: name = %s", getName()), exception);
      return;
    }
    try {
      if (channelProcessor == null) {
        throw new IllegalStateException("No channel processor configured");
      }
      doStart();
      setLifecycleState(LifecycleState.START);
    } catch (Exception e) {
      logger.error(String.format("Unexpected error performing start: name = %s", getName()), e);
      exception = e;
      setLifecycleState(LifecycleState.ERROR);
    }
  }

  @Override
  public synchronized void stop() {
    try {
      doStop();
      setLifecycleState(LifecycleState.STOP);
    } catch (Exception e) {
      logger.error(String.format("Unexpected error performing stop: name = %s", getName()), e);
      setLifecycleState(LifecycleState.ERROR);
    }
  }

  @Override
  public synchronized void setChannelProcessor(ChannelProcessor cp) {
    channelProcessor = cp;
  }

  @Override
  public synchronized ChannelProcessor getChannelProcessor() {
    return channelProcessor;
  }

  @Override
  public synchronized void setName(String name) {
    this.name = name;
  }

  @Override
  public synchronized String getName() {
    return name;
  }

  @Override
  public synchronized LifecycleState getLifecycleState() {
    return lifecycleState;
  }

  public String toString() {
    return this.getClass().getName() + "{name:" + name + ",state:" + lifecycleState + "}";
  }

  protected boolean isStarted() {
    return getLifecycleState() == LifecycleState.START;
  }

  protected Exception getStartException() {
    return exception;
  }

  protected synchronized void setLifecycleState(LifecycleState lifecycleState) {
    this.lifecycleState = lifecycleState;
  }

  protected abstract void doConfigure(Context context) throws FlumeException;

  protected abstract void doStart() throws FlumeException;

  protected abstract void doStop() throws FlumeException;
}
