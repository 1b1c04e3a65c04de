// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume.source;

import org.apache.flume.Context;
import org.apache.flume.EventDeliveryException;
import org.apache.flume.FlumeException;
import org.apache.flume.PollableSource;

/** A pollable source with the back-off keys read from its context. */
public abstract class AbstractPollableSource extends BasicSourceSemantics
    implements PollableSource {
  long backoffSleepIncrement = PollableSourceConstants.DEFAULT_BACKOFF_SLEEP_INCREMENT;
  long maxBackoffSleep = PollableSourceConstants.DEFAULT_MAX_BACKOFF_SLEEP;

  public AbstractPollableSource() {
    super();
  }

  public Status process() throws EventDeliveryException {
    Exception exception = getStartException();
    if (exception != null) {
      throw new FlumeException("Source had error configuring or starting", exception);
    }
    if (!isStarted()) {
      throw new EventDeliveryException(
          "Source is not started.  It is in '" + getLifecycleState() + "' state");
    }
    return doProcess();
  }

  @Override
  public synchronized void configure(Context context) {
    super.configure(context);
    backoffSleepIncrement = context.getLong(PollableSourceConstants.BACKOFF_SLEEP_INCREMENT,
        PollableSourceConstants.DEFAULT_BACKOFF_SLEEP_INCREMENT);
    maxBackoffSleep = context.getLong(PollableSourceConstants.MAX_BACKOFF_SLEEP,
        PollableSourceConstants.DEFAULT_MAX_BACKOFF_SLEEP);
  }

  public long getBackOffSleepIncrement() {
    return backoffSleepIncrement;
  }

  public long getMaxBackOffSleepInterval() {
    return maxBackoffSleep;
  }

  protected abstract Status doProcess() throws EventDeliveryException;
}
