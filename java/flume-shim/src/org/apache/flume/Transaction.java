// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

/** A channel transaction: begin, take or put, commit or rollback, close. */
public interface Transaction {
  enum TransactionState { Started, Committed, RolledBack, Closed }

  void begin();

  void commit();

  void rollback();

  void close();
}
