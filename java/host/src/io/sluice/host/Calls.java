// Sluice's Java host: the plugins the agent calls (interceptors, serializers, selectors).
package io.sluice.host;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flume.Channel;
import org.apache.flume.ChannelException;
import org.apache.flume.ChannelSelector;
import org.apache.flume.Context;
import org.apache.flume.Event;
import org.apache.flume.Transaction;
import org.apache.flume.conf.Configurable;
import org.apache.flume.interceptor.Interceptor;
import org.apache.flume.lifecycle.LifecycleState;
import org.apache.flume.serialization.EventSerializer;

/**
 * A plugin the agent calls rather than one that calls the agent: an Interceptor (INTERCEPT a
 * batch), an EventSerializer.Builder (SERIALIZE: a serializer per output stream, the bytes it
 * writes handed back) or a ChannelSelector (SELECT: the channels of each event). Calls arrive
 * one at a time on the reader thread and are answered in order; an exception answers THREW and
 * the plugin stays up.
 */
final class Calls {
  /** The selector's channel names, in order: a key of its CONFIGURE, not of its Context. */
  static final String CHANNELS_KEY = "sluice.channels";

  private final Agent agent;
  private Interceptor interceptor;
  private EventSerializer.Builder serializers;
  private Context serializerContext;
  private final Map<Integer, Stream> streams = new HashMap<Integer, Stream>();
  private ChannelSelector selector;
  private final Map<Channel, Integer> channelIndex = new IdentityHashMap<Channel, Integer>();

  Calls(Agent agent) {
    this.agent = agent;
  }

  /** Instantiates and configures `className` in its role (2, 3, 4). */
  void configure(int role, String className, String name, Map<String, String> props)
      throws Exception {
    Class<?> cls = Class.forName(className, true, Thread.currentThread().getContextClassLoader());
    Object o = cls.getDeclaredConstructor().newInstance();
    switch (role) {
      case 2:
        Interceptor.Builder b = (Interceptor.Builder) o;
        b.configure(new Context(props));
        interceptor = b.build();
        if (interceptor == null) {
          throw new IllegalStateException(className + ".build() returned null");
        }
        break;
      case 3:
        serializers = (EventSerializer.Builder) o;
        serializerContext = new Context(props);
        break;
      case 4:
        ChannelSelector s = (ChannelSelector) o;
        String names = props.remove(CHANNELS_KEY);
        List<Channel> channels = new ArrayList<Channel>();
        for (String n : (names == null ? "" : names.trim()).split("\\s+")) {
          if (!n.isEmpty()) {
            Channel ch = new Named(n);
            channelIndex.put(ch, channels.size());
            channels.add(ch);
          }
        }
        s.setName(name);
        s.setChannels(channels);
        if (s instanceof Configurable) {
          ((Configurable) s).configure(new Context(props));
        }
        selector = s;
        break;
      default:
        throw new IllegalArgumentException("unknown role " + role);
    }
  }

  void start() {
    if (interceptor != null) {
      interceptor.initialize();
    }
  }

  void stop() {
    if (interceptor != null) {
      interceptor.close();
    }
  }

  /** Answers one call frame: its result, or THREW with the exception. */
  void answer(Wire.Frame f) throws IOException {
    try {
      switch (f.type) {
        case Wire.INTERCEPT:
          agent.tell(Wire.INTERCEPTED, intercept(Wire.events(f.body)));
          break;
        case Wire.SERIALIZE:
          agent.tell(Wire.WRITTEN, serialize(f.body));
          break;
        case Wire.SELECT:
          agent.tell(Wire.SELECTED, select(Wire.events(f.body)));
          break;
        default:
          throw new IOException("unknown frame type " + f.type);
      }
    } catch (IOException e) {
      if (f.type != Wire.SERIALIZE) {
        throw e;
      }
      threw(e);
    } catch (RuntimeException | LinkageError e) {
      threw(e);
    }
  }

  private void threw(Throwable e) throws IOException {
    Host.fatalIfVm(e);
    String m = Check.describe(e);
    System.err.println("WARN io.sluice.host.Calls the call threw: " + m);
    agent.tell(Wire.THREW, Wire.payload().str(m).done());
  }

  private byte[] intercept(List<Event> events) throws IOException {
    if (interceptor == null) {
      throw new IllegalStateException("INTERCEPT before CONFIGURE");
    }
    List<Event> out = interceptor.intercept(events);
    List<Event> kept = new ArrayList<Event>(out == null ? 0 : out.size());
    if (out != null) {
      for (Event e : out) {
        if (e != null) {
          kept.add(e);
        }
      }
    }
    return Wire.payload().events(kept).done();
  }

  private byte[] serialize(DataInputStream in) throws IOException {
    if (serializers == null) {
      throw new IllegalStateException("SERIALIZE before CONFIGURE");
    }
    int id = in.readInt();
    int op = in.readUnsignedByte();
    List<Event> events = Wire.events(in);
    Stream s = streams.get(id);
    if (op == 0 || op == 1) {
      s = new Stream();
      s.serializer = serializers.build(serializerContext, s.bytes);
      if (s.serializer == null) {
        throw new IllegalStateException("the serializer builder returned null");
      }
      if (op == 1 && !s.serializer.supportsReopen()) {
        throw new IOException(s.serializer.getClass().getName() + " does not support reopen");
      }
      streams.put(id, s);
      if (op == 0) {
        s.serializer.afterCreate();
      } else {
        s.serializer.afterReopen();
      }
    } else if (s == null) {
      throw new IOException("no open stream " + id);
    } else if (op == 2) {
      for (Event e : events) {
        s.serializer.write(e);
      }
      s.serializer.flush();
    } else {
      streams.remove(id);
      s.serializer.flush();
      s.serializer.beforeClose();
    }
    byte[] written = s.bytes.toByteArray();
    s.bytes.reset();
    return Wire.payload().bytes(written).done();
  }

  private byte[] select(List<Event> events) throws IOException {
    if (selector == null) {
      throw new IllegalStateException("SELECT before CONFIGURE");
    }
    Wire.Payload p = Wire.payload().u32(events.size());
    for (Event e : events) {
      indexes(p, selector.getRequiredChannels(e));
      indexes(p, selector.getOptionalChannels(e));
    }
    return p.done();
  }

  private void indexes(Wire.Payload p, List<Channel> channels) throws IOException {
    if (channels == null) {
      p.u32(0);
      return;
    }
    p.u32(channels.size());
    for (Channel ch : channels) {
      Integer i = channelIndex.get(ch);
      if (i == null) {
        throw new IllegalStateException("the selector chose a channel it was not given: "
            + (ch == null ? "null" : ch.getName()));
      }
      p.u32(i);
    }
  }

  /** One output stream of a serializer: what it writes, until the agent collects it. */
  private static final class Stream {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream(4096);
    EventSerializer serializer;
  }

  /** A channel a selector can name and return; it holds no events. */
  private static final class Named implements Channel {
    private String name;

    Named(String name) {
      this.name = name;
    }

    @Override
    public void put(Event event) {
      throw new ChannelException("a selector's channel takes no events");
    }

    @Override
    public Event take() {
      throw new ChannelException("a selector's channel takes no events");
    }

    @Override
    public Transaction getTransaction() {
      throw new ChannelException("a selector's channel has no transactions");
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
}
