// Sluice's Java host: `--check`, used by `sluice config check`.
package io.sluice.host;

import org.apache.flume.ChannelSelector;
import org.apache.flume.Sink;
import org.apache.flume.SinkProcessor;
import org.apache.flume.Source;
import org.apache.flume.interceptor.Interceptor;
import org.apache.flume.serialization.EventSerializer;

/** For each `ROLE=CLASS` argument, prints one line: `ok ROLE CLASS` or `missing|wrong ...`. */
final class Check {
  private Check() {}

  static int run(String[] args) {
    int bad = 0;
    for (int i = 1; i < args.length; i++) {
      String[] rc = args[i].split("=", 2);
      String role = rc[0];
      String name = rc.length > 1 ? rc[1] : "";
      Class<?> want = role.equals("source") ? Source.class
          : role.equals("interceptor") ? Interceptor.Builder.class
          : role.equals("serializer") ? EventSerializer.Builder.class
          : role.equals("selector") ? ChannelSelector.class
          : role.equals("processor") ? SinkProcessor.class
          : Sink.class;
      try {
        Class<?> c = Class.forName(name, false, Check.class.getClassLoader());
        if (!want.isAssignableFrom(c)) {
          System.out.println("wrong " + role + " " + name + " is not a " + want.getName());
          bad++;
        } else {
          System.out.println("ok " + role + " " + name);
        }
      } catch (Throwable t) {
        System.out.println("missing " + role + " " + name + " " + describe(t));
        bad++;
      }
    }
    System.out.flush();
    return bad == 0 ? 0 : 1;
  }

  static String describe(Throwable t) {
    String s = t.toString();
    Throwable c = t.getCause();
    if (c != null && c != t) {
      s += " (caused by " + c + ")";
    }
    return s.replace('\n', ' ');
  }
}
