package io.qmpsidecar.policy;

import java.util.List;

/**
 * A loaded, validated and compiled policy. Immutable and safe to share between threads. Obtain
 * one from {@link Policies}; other implementations are not accepted by {@link PolicyEngine}.
 */
public interface Policy {

  /** The schema version the file declared (currently always 1). */
  int version();

  /** The policy's {@code name} field. */
  String name();

  /** Where the policy came from: a file path or {@code preset:NAME}. */
  String source();

  /** How rules are chosen when several match. */
  MatchMode matchMode();

  /** The ids of the rules, in file order. */
  List<String> ruleIds();

  /** The ids of the rate limits, in file order. */
  List<String> rateLimitIds();

  /** The ids of the automation rules, in file order. */
  List<String> automationIds();

  /**
   * Decides one request by the rules alone (no rate limits, no audit): never throws for any
   * request, and denies a request it cannot interpret with rule id
   * {@link Decision#INVALID_REQUEST}.
   */
  Decision decide(PolicyRequest request);
}
