// Sluice's Java host: the program the agent starts for one Java plugin.
package io.sluice.host;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flume.Context;
import org.apache.flume.EventDrivenSource;
import org.apache.flume.PollableSource;
import org.apache.flume.Sink;
import org.apache.flume.SinkProcessor;
import org.apache.flume.Source;
import org.apache.flume.conf.Configurable;
import org.apache.flume.lifecycle.LifecycleAware;

/**
 * Runs one Flume plugin for the agent (a source, a sink, or one the agent calls: an
 * interceptor, a serializer, a selector), which talks to it over this JVM's stdin and
 * stdout (Wire's frames); stdout is the agent's alone, so System.out goes to stderr, which the
 * agent logs. The agent's stream ending means the agent is gone: the JVM halts at once.
 * `--check CLASS...` instead says for each class whether it loads and what it is.
 */
public final class Host {
  /** Exit status after a fatal error in the plugin (OutOfMemoryError and the like). */
  static final int EXIT_FATAL = 70;

  private final Wire wire;
  private final Agent agent;
  private final Calls calls;
  private volatile LifecycleAware component;
  private volatile Runner runner;
  private volatile String processorName;

  private Host(Wire wire) {
    this.wire = wire;
    this.agent = new Agent(wire);
    this.calls = new Calls(agent);
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--check")) {
      System.exit(Check.run(args));
    }
    FileOutputStream protocolOut = new FileOutputStream(FileDescriptor.out);
    System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true));
    Host host = new Host(new Wire(new FileInputStream(FileDescriptor.in), protocolOut));
    host.readLoop();
  }

  /** Reads the agent's frames until its stream ends, then halts the JVM. */
  private void readLoop() {
    Counters counters = new Counters(agent);
    try {
      while (true) {
        Wire.Frame f = wire.read();
        if (f == null) {
          break;
        }
        switch (f.type) {
          case Wire.CONFIGURE:
            // Counter groups made in configure() or start() reach the agent before the ACK,
            // so it knows before any event that the plugin counts for itself.
            control("configure", () -> {
              configure(f);
              counters.flush();
            });
            break;
          case Wire.START:
            control("start", () -> {
              start();
              counters.flush();
              counters.begin();
            });
            break;
          case Wire.STOP:
            control("stop", () -> {
              stop();
              counters.flush();
            });
            break;
          case Wire.PUT_DONE:
          case Wire.TAKEN:
          case Wire.TX_DONE:
          case Wire.PROCESSED:
            agent.reply(f);
            break;
          case Wire.INTERCEPT:
          case Wire.SERIALIZE:
          case Wire.SELECT:
            calls.answer(f);
            break;
          default:
            throw new IOException("unknown frame type " + f.type);
        }
      }
    } catch (Throwable t) {
      System.err.println("ERROR io.sluice.host.Host the agent's stream failed: " + t);
    }
    Runtime.getRuntime().halt(0);
  }

  private interface Step {
    void run() throws Exception;
  }

  /** Runs a lifecycle step on its own thread (the reader stays free for replies) and ACKs. */
  private void control(String what, Step step) {
    Thread t = new Thread(() -> {
      int status = Wire.OK;
      String message = "";
      try {
        step.run();
      } catch (Throwable e) {
        fatalIfVm(e);
        status = Wire.ERROR;
        message = what + " failed: " + Check.describe(e);
        System.err.println("ERROR io.sluice.host.Host " + message);
        e.printStackTrace();
      }
      try {
        agent.tell(Wire.ACK, Wire.payload().u8(status).str(message).done());
      } catch (IOException e) {
        // Encoding into memory does not fail.
      }
    }, "sluice-" + what);
    t.setDaemon(true);
    t.start();
  }

  private void configure(Wire.Frame f) throws Exception {
    int role = f.body.readUnsignedByte();
    String className = Wire.str(f.body);
    String name = Wire.str(f.body);
    Map<String, String> props = Wire.map(f.body);
    if (role == 5) {
      component = processor(className, name, props);
      return;
    }
    if (role >= 2) {
      calls.configure(role, className, name, props);
      return;
    }
    Class<?> cls = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
    Object o = cls.getDeclaredConstructor().newInstance();
    if (role == 0) {
      Source s = (Source) o;
      s.setName(name);
      s.setChannelProcessor(new HostChannelProcessor(agent));
      if (!(s instanceof PollableSource) && !(s instanceof EventDrivenSource)) {
        throw new IllegalArgumentException(className + " is neither a PollableSource nor an"
            + " EventDrivenSource");
      }
    } else {
      Sink s = (Sink) o;
      s.setName(name);
      s.setChannel(new HostChannel(agent, name + "-channel"));
    }
    if (o instanceof Configurable) {
      ((Configurable) o).configure(new Context(props));
    }
    component = (LifecycleAware) o;
  }

  /** A sink group's processor over the agent's sinks (named in its CONFIGURE). */
  private SinkProcessor processor(String className, String name, Map<String, String> props)
      throws Exception {
    Class<?> cls = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
    SinkProcessor p = (SinkProcessor) cls.getDeclaredConstructor().newInstance();
    String names = props.remove(GroupSink.SINKS_KEY);
    List<Sink> sinks = new ArrayList<Sink>();
    for (String n : (names == null ? "" : names.trim()).split("\\s+")) {
      if (!n.isEmpty()) {
        sinks.add(new GroupSink(agent, sinks.size(), n));
      }
    }
    p.setSinks(sinks);
    p.configure(new Context(props));
    processorName = name;
    return p;
  }

  private void start() {
    LifecycleAware c = component;
    if (c == null) {
      calls.start();
      return;
    }
    c.start();
    if (c instanceof SinkProcessor) {
      runner = Runner.processor(processorName, (SinkProcessor) c);
    } else if (c instanceof PollableSource) {
      runner = Runner.source((PollableSource) c);
    } else if (c instanceof Sink) {
      runner = Runner.sink((Sink) c);
    }
  }

  private void stop() {
    Runner r = runner;
    if (r != null) {
      r.stop();
    }
    LifecycleAware c = component;
    if (c != null) {
      c.stop();
    } else {
      calls.stop();
    }
  }

  /** An Error the JVM cannot go on after (OutOfMemoryError, StackOverflowError): tell, halt. */
  static void fatalIfVm(Throwable t) {
    if (t instanceof VirtualMachineError) {
      try {
        System.err.println("ERROR io.sluice.host.Host fatal: " + t);
      } finally {
        Runtime.getRuntime().halt(EXIT_FATAL);
      }
    }
  }
}
