// Sluice's Flume-API shim (Apache Flume's names and signatures; the code is Sluice's own).
package org.apache.flume;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/** A component's keys (the part of each key after the component's name), as strings. */
public class Context {
  private final Map<String, String> parameters;

  public Context() {
    parameters = Collections.synchronizedMap(new HashMap<String, String>());
  }

  public Context(Map<String, String> paramters) {
    this();
    this.putAll(paramters);
  }

  public Map<String, String> getParameters() {
    synchronized (parameters) {
      return Collections.unmodifiableMap(new HashMap<String, String>(parameters));
    }
  }

  public void clear() {
    parameters.clear();
  }

  public Map<String, String> getSubProperties(String prefix) {
    if (!prefix.endsWith(".")) {
      throw new IllegalArgumentException(
          "The given prefix does not end with a period (" + prefix + ")");
    }
    Map<String, String> result = new HashMap<String, String>();
    synchronized (parameters) {
      for (Map.Entry<String, String> entry : parameters.entrySet()) {
        String key = entry.getKey();
        if (key.startsWith(prefix)) {
          result.put(key.substring(prefix.length()), entry.getValue());
        }
      }
    }
    return Collections.unmodifiableMap(result);
  }

  public void putAll(Map<String, String> map) {
    parameters.putAll(map);
  }

  public void put(String key, String value) {
    parameters.put(key, value);
  }

  public boolean containsKey(String key) {
    return parameters.containsKey(key);
  }

  public Boolean getBoolean(String key, Boolean defaultValue) {
    String value = get(key);
    return value != null ? Boolean.valueOf(Boolean.parseBoolean(value.trim())) : defaultValue;
  }

  public Boolean getBoolean(String key) {
    return getBoolean(key, null);
  }

  public Integer getInteger(String key, Integer defaultValue) {
    String value = get(key);
    return value != null ? Integer.valueOf(Integer.parseInt(value.trim())) : defaultValue;
  }

  public Integer getInteger(String key) {
    return getInteger(key, null);
  }

  public Long getLong(String key, Long defaultValue) {
    String value = get(key);
    return value != null ? Long.valueOf(Long.parseLong(value.trim())) : defaultValue;
  }

  public Long getLong(String key) {
    return getLong(key, null);
  }

  public String getString(String key, String defaultValue) {
    return get(key, defaultValue);
  }

  public String getString(String key) {
    return get(key);
  }

  public Float getFloat(String key, Float defaultValue) {
    String value = get(key);
    return value != null ? Float.valueOf(Float.parseFloat(value.trim())) : defaultValue;
  }

  public Float getFloat(String key) {
    return getFloat(key, null);
  }

  public Double getDouble(String key, Double defaultValue) {
    String value = get(key);
    return value != null ? Double.valueOf(Double.parseDouble(value.trim())) : defaultValue;
  }

  public Double getDouble(String key) {
    return getDouble(key, null);
  }

  private String get(String key, String defaultValue) {
    String result = parameters.get(key);
    return result != null ? result : defaultValue;
  }

  private String get(String key) {
    return get(key, null);
  }

  @Override
  public String toString() {
    return "{ parameters:" + parameters + " }";
  }
}
