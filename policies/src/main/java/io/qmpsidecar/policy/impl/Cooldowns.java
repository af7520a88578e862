package io.qmpsidecar.policy.impl;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * When each automation rule last fired. Holds one entry per automation rule of the current
 * policy at most: {@link #retainOnly} drops the entries of rules a reload removed.
 */
public final class Cooldowns {

  private final Map<String, Long> lastFired = new HashMap<>();

  /**
   * Records a firing and returns true if rule {@code id} last fired at least
   * {@code cooldownMillis} ago (or never); returns false and records nothing otherwise.
   */
  public synchronized boolean tryFire(String id, long cooldownMillis, long nowMillis) {
    Long last = lastFired.get(id);
    if (last != null && nowMillis - last < cooldownMillis) {
      return false;
    }
    lastFired.put(id, nowMillis);
    return true;
  }

  /** Forgets rules not in {@code ids}. */
  public synchronized void retainOnly(Set<String> ids) {
    lastFired.keySet().retainAll(ids);
  }
}
