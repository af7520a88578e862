package io.qmpsidecar.policy.impl;

import io.qmpsidecar.policy.Decision;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies a policy's {@code rate-limits}: the first entry whose callers match a caller gives that
 * caller its own bucket. At most {@link #MAX_BUCKETS} buckets are kept; the least recently used
 * one is dropped beyond that (it starts full again if that caller returns), which only matters
 * with more distinct authenticated callers than that.
 */
final class RateLimiter {

  static final int MAX_BUCKETS = 4096;

  private final List<RateLimitSpec> specs;
  private final Map<String, TokenBucket> buckets =
      new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, TokenBucket> eldest) {
          return size() > MAX_BUCKETS;
        }
      };

  RateLimiter(List<RateLimitSpec> specs) {
    this.specs = specs;
  }

  /** Returns {@code null} when the caller may proceed, else the deny decision. */
  Decision admit(String caller, long nowMillis) {
    RateLimitSpec spec = null;
    for (RateLimitSpec candidate : specs) {
      if (candidate.appliesTo(caller)) {
        spec = candidate;
        break;
      }
    }
    if (spec == null) {
      return null;
    }
    TokenBucket bucket;
    synchronized (buckets) {
      bucket = buckets.get(caller);
      if (bucket == null) {
        bucket = new TokenBucket(spec.burst(), spec.perSecond(), nowMillis);
        buckets.put(caller, bucket);
      }
    }
    if (bucket.tryTake(nowMillis)) {
      return null;
    }
    return Decision.throttle("rate-limit:" + spec.id(), "caller " + caller + " exceeded "
        + spec.perSecond() + " requests/s (burst " + spec.burst() + "); retry later or raise"
        + " the limit '" + spec.id() + "' in the policy", Duration.ofMillis(bucket.millisToNextToken()));
  }
}
