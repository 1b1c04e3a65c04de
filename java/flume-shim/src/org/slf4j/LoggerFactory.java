// Sluice's shim of the SLF4J API that Flume ships and plugins log through (its names and
// signatures; the code is Sluice's own).
package org.slf4j;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Loggers that write "LEVEL name message" lines to stderr (a throwable's stack trace on the
 * lines after); the agent reads them and logs them under the component's name. The level is
 * the system property sluice.log.level (TRACE, DEBUG, INFO, WARN, ERROR; INFO by default).
 */
public final class LoggerFactory {
  private static final String[] LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
  private static final int MIN_LEVEL = minLevel();
  /** The stream the host gives plugins' logs (stderr, captured before anything redirects). */
  private static final PrintStream OUT = System.err;

  private LoggerFactory() {}

  private static int minLevel() {
    String want = System.getProperty("sluice.log.level", "INFO");
    for (int i = 0; i < LEVELS.length; i++) {
      if (LEVELS[i].equalsIgnoreCase(want)) {
        return i;
      }
    }
    return 2;
  }

  public static Logger getLogger(Class<?> clazz) {
    return getLogger(clazz.getName());
  }

  public static Logger getLogger(String name) {
    return new Simple(name);
  }

  /** SLF4J's {} substitution; a last Throwable argument beyond the placeholders is a cause. */
  static String format(String format, Object[] args, Throwable[] cause) {
    if (format == null) {
      format = "null";
    }
    if (args == null || args.length == 0) {
      return format;
    }
    StringBuilder b = new StringBuilder(format.length() + 32);
    int arg = 0;
    int i = 0;
    while (i < format.length()) {
      int at = format.indexOf("{}", i);
      if (at < 0 || arg >= args.length) {
        break;
      }
      if (at > 0 && format.charAt(at - 1) == '\\') {
        b.append(format, i, at - 1).append("{}");
        i = at + 2;
        continue;
      }
      b.append(format, i, at).append(String.valueOf(args[arg++]));
      i = at + 2;
    }
    b.append(format.substring(Math.min(i, format.length())));
    if (arg < args.length && args[args.length - 1] instanceof Throwable) {
      cause[0] = (Throwable) args[args.length - 1];
    }
    return b.toString();
  }

  private static final class Simple implements Logger {
    private final String name;

    Simple(String name) {
      this.name = name;
    }

    @Override
    public String getName() {
      return name;
    }

    @Override
    public boolean sluiceEnabled(int level) {
      return level >= MIN_LEVEL;
    }

    @Override
    public void sluiceLog(int level, String format, Object[] args) {
      if (level < MIN_LEVEL) {
        return;
      }
      Throwable[] cause = new Throwable[1];
      String msg = format(format, args, cause);
      StringBuilder line = new StringBuilder(msg.length() + 64);
      line.append(LEVELS[level]).append(' ').append(name).append(' ').append(msg);
      if (cause[0] != null) {
        StringWriter w = new StringWriter();
        cause[0].printStackTrace(new PrintWriter(w));
        line.append('\n').append(w.toString().trim());
      }
      synchronized (OUT) {
        OUT.println(line);
      }
    }
  }
}
