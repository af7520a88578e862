package io.qmpsidecar.policy.impl;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * When each automation rule last fired, per scope (the sidecar's scope is the VM). Holds at most
 * {@link #MAX_ENTRIES} entries, least recently fired dropped first (a dropped entry only means
 * that rule may fire again for that scope), and {@link #retainOnly} drops the entries of rules a
 * reload removed.
 */
public final class Cooldowns {

  /** Entries kept at most: rules times scopes. */
  public static final int MAX_ENTRIES = 65_536;

  private record Key(String ruleId, String scope) {}

  private final Map<Key, Long> lastFired = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Key, Long> eldest) {
      return size() > MAX_ENTRIES;
    }
  };

  /**
   * Records a firing and returns true if rule {@code id} last fired for {@code scope} at least
   * {@code cooldownMillis} ago (or never); returns false and records nothing otherwise.
   */
  public synchronized boolean tryFire(String id, String scope, long cooldownMillis, long nowMillis) {
    Key key = new Key(id, scope);
    Long last = lastFired.get(key);
    if (last != null && nowMillis - last < cooldownMillis) {
      return false;
    }
    lastFired.put(key, nowMillis);
    return true;
  }

  /** Forgets rules not in {@code ids}. */
  public synchronized void retainOnly(Set<String> ids) {
    lastFired.keySet().removeIf(k -> !ids.contains(k.ruleId()));
  }
}
