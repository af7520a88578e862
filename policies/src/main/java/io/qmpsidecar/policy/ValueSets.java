package io.qmpsidecar.policy;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Named sets of strings that come from the sidecar's configuration, not from the policy file and
 * never from a request: e.g. {@code migration.destinations} (the URIs of the named migration
 * destinations) or {@code hotplug.allowedPfs}. A policy refers to a set by name
 * ({@code value-set: migration.destinations}); the engine receives the sets at construction and
 * on every reload. A set the policy names but the engine was not given is empty, so a rule that
 * needs it allows nothing. Immutable.
 */
public final class ValueSets {

  /** Names: dot- or dash-separated words of letters and digits, e.g. {@code hotplug.allowedPfs}. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9]*(?:[.-][A-Za-z0-9]+){0,7}");

  /** Longest value accepted in a set (a URI, a PCI address, a driver name). */
  public static final int MAX_VALUE_LENGTH = 4096;

  /** No sets at all. */
  public static final ValueSets EMPTY = new ValueSets(Map.of());

  private final Map<String, Set<String>> sets;

  private ValueSets(Map<String, Set<String>> sets) {
    this.sets = sets;
  }

  /**
   * Sets by name.
   *
   * @throws IllegalArgumentException for a name that is not {@link #NAME}, a null or empty value,
   *     or one longer than {@link #MAX_VALUE_LENGTH}
   */
  public static ValueSets of(Map<String, ? extends Collection<String>> sets) {
    Map<String, Set<String>> copy = new TreeMap<>();
    sets.forEach((name, values) -> copy.put(checkName(name), checkValues(name, values)));
    return new ValueSets(Map.copyOf(copy));
  }

  /** These sets and one more (replacing a set of the same name). */
  public ValueSets with(String name, Collection<String> values) {
    Map<String, Set<String>> copy = new TreeMap<>(sets);
    copy.put(checkName(name), checkValues(name, values));
    return new ValueSets(Map.copyOf(copy));
  }

  /** The set called {@code name}; empty when there is none. */
  public Set<String> get(String name) {
    return sets.getOrDefault(name, Set.of());
  }

  /** The names of the sets given. */
  public Set<String> names() {
    return sets.keySet();
  }

  private static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("invalid value set name '" + name
          + "': use words of letters and digits joined by '.' or '-', e.g. migration.destinations");
    }
    return name;
  }

  private static Set<String> checkValues(String name, Collection<String> values) {
    Objects.requireNonNull(values, "values of " + name);
    Set<String> out = new LinkedHashSet<>();
    for (String value : values) {
      if (value == null || value.isEmpty() || value.length() > MAX_VALUE_LENGTH) {
        throw new IllegalArgumentException("value set " + name + " holds an empty, null or"
            + " over-long value; give 1-" + MAX_VALUE_LENGTH + " characters each");
      }
      out.add(value);
    }
    return Set.copyOf(out);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ValueSets other && sets.equals(other.sets);
  }

  @Override
  public int hashCode() {
    return sets.hashCode();
  }

  @Override
  public String toString() {
    return "ValueSets" + sets;
  }
}
