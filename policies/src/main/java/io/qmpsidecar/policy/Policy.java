package io.qmpsidecar.policy;

import java.util.List;
import java.util.Set;

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
   * Decides one request by the rules alone (no rate limits, no audit) with no value sets: never
   * throws for any request, and denies a request it cannot interpret with rule id
   * {@link Decision#INVALID_REQUEST}.
   */
  default Decision decide(PolicyRequest request) {
    return decide(request, ValueSets.EMPTY);
  }

  /** As {@link #decide(PolicyRequest)}, with the configuration's value sets. */
  Decision decide(PolicyRequest request, ValueSets valueSets);

  /** The names of the value sets the policy refers to ({@code value-set: NAME}), sorted. */
  Set<String> valueSetNames();

  /**
   * The names of the fact sets ({@code fact: NAME}) that the rules which can match
   * {@code command} refer to, sorted: the sidecar resolves these before deciding that command.
   */
  Set<String> factNames(String command);

  /**
   * What the rules let {@code caller} send as {@code command} by way {@code via}: see
   * {@link Classification}. A command name the engine refuses to interpret is
   * {@link Classification.Kind#DENIED}.
   */
  Classification classify(Caller caller, String command, Via via);
}
