package io.qmpsidecar.policy.impl;

import java.util.List;

/**
 * A {@code rate-limits} entry: every caller it matches gets its own token bucket holding up to
 * {@code burst} tokens, refilled at {@code perSecond}; each allowed decision takes one token.
 */
record RateLimitSpec(String id, List<StringMatcher> callers, long burst, double perSecond) {

  boolean appliesTo(String caller) {
    for (StringMatcher pattern : callers) {
      if (pattern.matches(caller)) {
        return true;
      }
    }
    return false;
  }
}
