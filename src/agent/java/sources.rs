//! The Java sources of Sluice's Flume-API shim and its host program, embedded in the binary
//! (`java/` in the repository), so the agent builds the jar where it runs: no JVM at build time.

/// One embedded source file: its path under `java/` and its text.
macro_rules! src {
    ($p:literal) => {
        (
            $p,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/java/", $p)),
        )
    };
}

/// Every Java source of the shim and the host, by path under `java/`.
pub(crate) const JAVA_SOURCES: &[(&str, &str)] = &[
    src!("flume-shim/src/org/apache/flume/Channel.java"),
    src!("flume-shim/src/org/apache/flume/ChannelSelector.java"),
    src!("flume-shim/src/org/apache/flume/ChannelException.java"),
    src!("flume-shim/src/org/apache/flume/ChannelFullException.java"),
    src!("flume-shim/src/org/apache/flume/Context.java"),
    src!("flume-shim/src/org/apache/flume/Event.java"),
    src!("flume-shim/src/org/apache/flume/EventDeliveryException.java"),
    src!("flume-shim/src/org/apache/flume/EventDrivenSource.java"),
    src!("flume-shim/src/org/apache/flume/FlumeException.java"),
    src!("flume-shim/src/org/apache/flume/NamedComponent.java"),
    src!("flume-shim/src/org/apache/flume/PollableSource.java"),
    src!("flume-shim/src/org/apache/flume/Sink.java"),
    src!("flume-shim/src/org/apache/flume/SinkProcessor.java"),
    src!("flume-shim/src/org/apache/flume/Source.java"),
    src!("flume-shim/src/org/apache/flume/Transaction.java"),
    src!("flume-shim/src/org/apache/flume/channel/AbstractChannelSelector.java"),
    src!("flume-shim/src/org/apache/flume/channel/ChannelProcessor.java"),
    src!("flume-shim/src/org/apache/flume/conf/BatchSizeSupported.java"),
    src!("flume-shim/src/org/apache/flume/conf/Configurable.java"),
    src!("flume-shim/src/org/apache/flume/conf/ConfigurationException.java"),
    src!("flume-shim/src/org/apache/flume/event/EventBuilder.java"),
    src!("flume-shim/src/org/apache/flume/event/SimpleEvent.java"),
    src!("flume-shim/src/org/apache/flume/instrumentation/MonitoredCounterGroup.java"),
    src!("flume-shim/src/org/apache/flume/interceptor/Interceptor.java"),
    src!("flume-shim/src/org/apache/flume/instrumentation/SinkCounter.java"),
    src!("flume-shim/src/org/apache/flume/instrumentation/SourceCounter.java"),
    src!("flume-shim/src/org/apache/flume/lifecycle/LifecycleAware.java"),
    src!("flume-shim/src/org/apache/flume/lifecycle/LifecycleState.java"),
    src!("flume-shim/src/org/apache/flume/serialization/EventSerializer.java"),
    src!("flume-shim/src/org/apache/flume/sink/AbstractSink.java"),
    src!("flume-shim/src/org/apache/flume/sink/AbstractSinkProcessor.java"),
    src!("flume-shim/src/org/apache/flume/source/AbstractPollableSource.java"),
    src!("flume-shim/src/org/apache/flume/source/AbstractSource.java"),
    src!("flume-shim/src/org/apache/flume/source/BasicSourceSemantics.java"),
    src!("flume-shim/src/org/apache/flume/source/PollableSourceConstants.java"),
    src!("flume-shim/src/org/slf4j/Logger.java"),
    src!("flume-shim/src/org/slf4j/LoggerFactory.java"),
    src!("host/src/io/sluice/host/Agent.java"),
    src!("host/src/io/sluice/host/Calls.java"),
    src!("host/src/io/sluice/host/Check.java"),
    src!("host/src/io/sluice/host/Counters.java"),
    src!("host/src/io/sluice/host/GroupSink.java"),
    src!("host/src/io/sluice/host/Host.java"),
    src!("host/src/io/sluice/host/HostChannel.java"),
    src!("host/src/io/sluice/host/HostChannelProcessor.java"),
    src!("host/src/io/sluice/host/Runner.java"),
    src!("host/src/io/sluice/host/Wire.java"),
];
