// Test helper: MySQL's driver class name, as the tutorial's jdbc.properties names it, loading
// MariaDB's Connector/J (Debian's libmariadb-java), which also takes jdbc:mysql:// URLs.
package com.mysql.jdbc;

public final class Driver {
  static {
    try {
      Class.forName("org.mariadb.jdbc.Driver");
    } catch (ClassNotFoundException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private Driver() {}
}
