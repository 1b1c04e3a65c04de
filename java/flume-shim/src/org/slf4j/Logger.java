// Sluice's shim of the SLF4J API that Flume ships and plugins log through (its names and
// signatures; the code is Sluice's own). Lines go to stderr, which the agent logs under the
// component's name at the line's level.
package org.slf4j;

/** A named logger (SLF4J's methods without markers). */
public interface Logger {
  String ROOT_LOGGER_NAME = "ROOT";

  String getName();

  /** Sluice: whether lines of this level are written (levels 0 trace .. 4 error). */
  boolean sluiceEnabled(int level);

  /** Sluice: writes one formatted line. */
  void sluiceLog(int level, String format, Object[] args);

  default boolean isTraceEnabled() {
    return sluiceEnabled(0);
  }

  default void trace(String msg) {
    sluiceLog(0, msg, null);
  }

  default void trace(String format, Object arg) {
    sluiceLog(0, format, new Object[] {arg});
  }

  default void trace(String format, Object arg1, Object arg2) {
    sluiceLog(0, format, new Object[] {arg1, arg2});
  }

  default void trace(String format, Object... arguments) {
    sluiceLog(0, format, arguments);
  }

  default void trace(String msg, Throwable t) {
    sluiceLog(0, msg, new Object[] {t});
  }

  default boolean isDebugEnabled() {
    return sluiceEnabled(1);
  }

  default void debug(String msg) {
    sluiceLog(1, msg, null);
  }

  default void debug(String format, Object arg) {
    sluiceLog(1, format, new Object[] {arg});
  }

  default void debug(String format, Object arg1, Object arg2) {
    sluiceLog(1, format, new Object[] {arg1, arg2});
  }

  default void debug(String format, Object... arguments) {
    sluiceLog(1, format, arguments);
  }

  default void debug(String msg, Throwable t) {
    sluiceLog(1, msg, new Object[] {t});
  }

  default boolean isInfoEnabled() {
    return sluiceEnabled(2);
  }

  default void info(String msg) {
    sluiceLog(2, msg, null);
  }

  default void info(String format, Object arg) {
    sluiceLog(2, format, new Object[] {arg});
  }

  default void info(String format, Object arg1, Object arg2) {
    sluiceLog(2, format, new Object[] {arg1, arg2});
  }

  default void info(String format, Object... arguments) {
    sluiceLog(2, format, arguments);
  }

  default void info(String msg, Throwable t) {
    sluiceLog(2, msg, new Object[] {t});
  }

  default boolean isWarnEnabled() {
    return sluiceEnabled(3);
  }

  default void warn(String msg) {
    sluiceLog(3, msg, null);
  }

  default void warn(String format, Object arg) {
    sluiceLog(3, format, new Object[] {arg});
  }

  default void warn(String format, Object arg1, Object arg2) {
    sluiceLog(3, format, new Object[] {arg1, arg2});
  }

  default void warn(String format, Object... arguments) {
    sluiceLog(3, format, arguments);
  }

  default void warn(String msg, Throwable t) {
    sluiceLog(3, msg, new Object[] {t});
  }

  default boolean isErrorEnabled() {
    return sluiceEnabled(4);
  }

  default void error(String msg) {
    sluiceLog(4, msg, null);
  }

  default void error(String format, Object arg) {
    sluiceLog(4, format, new Object[] {arg});
  }

  default void error(String format, Object arg1, Object arg2) {
    sluiceLog(4, format, new Object[] {arg1, arg2});
  }

  default void error(String format, Object... arguments) {
    sluiceLog(4, format, arguments);
  }

  default void error(String msg, Throwable t) {
    sluiceLog(4, msg, new Object[] {t});
  }
}
