// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

/** A component with a name. */
public interface NamedComponent {
  public void setName(String name);

  public String getName();
}
