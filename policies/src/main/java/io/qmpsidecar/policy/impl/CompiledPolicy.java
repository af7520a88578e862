package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.MatchMode;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A policy ready to evaluate. Rules are indexed by command name at load time, so a decision
 * looks at only the rules that can match the command, in file order.
 */
public final class CompiledPolicy implements Policy {

  private final int version;
  private final String name;
  private final String source;
  private final MatchMode matchMode;
  private final List<CompiledRule> rules;
  private final Decision defaultDecision;
  private final List<RateLimitSpec> rateLimits;
  private final List<AutomationRule> automation;
  private final Map<String, CompiledRule[]> byCommand = new HashMap<>();
  private final CompiledRule[] globRules;

  CompiledPolicy(
      int version,
      String name,
      String source,
      MatchMode matchMode,
      List<CompiledRule> rules,
      Decision defaultDecision,
      List<RateLimitSpec> rateLimits,
      List<AutomationRule> automation,
      List<String> exactCommands) {
    this.version = version;
    this.name = name;
    this.source = source;
    this.matchMode = matchMode;
    this.rules = List.copyOf(rules);
    this.defaultDecision = defaultDecision;
    this.rateLimits = List.copyOf(rateLimits);
    this.automation = List.copyOf(automation);
    this.globRules = rules.stream().filter(CompiledRule::hasCommandGlob).toArray(CompiledRule[]::new);
    for (String command : exactCommands) {
      List<CompiledRule> candidates = new ArrayList<>();
      for (CompiledRule rule : rules) {
        if (rule.matchesCommand(command)) {
          candidates.add(rule);
        }
      }
      byCommand.put(command, candidates.toArray(new CompiledRule[0]));
    }
  }

  @Override
  public int version() {
    return version;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String source() {
    return source;
  }

  @Override
  public MatchMode matchMode() {
    return matchMode;
  }

  @Override
  public List<String> ruleIds() {
    return rules.stream().map(CompiledRule::id).toList();
  }

  @Override
  public List<String> rateLimitIds() {
    return rateLimits.stream().map(RateLimitSpec::id).toList();
  }

  @Override
  public List<String> automationIds() {
    return automation.stream().map(AutomationRule::id).toList();
  }

  List<RateLimitSpec> rateLimits() {
    return rateLimits;
  }

  List<AutomationRule> automation() {
    return automation;
  }

  @Override
  public Decision decide(PolicyRequest request) {
    JsonNode arguments = request.arguments();
    if (!arguments.isObject()) {
      return Decision.deny(Decision.INVALID_REQUEST,
          "arguments must be a JSON object, as QEMU requires; send {} for none");
    }
    String command = CommandNames.canonical(request.command());
    if (command == null) {
      return Decision.deny(Decision.INVALID_REQUEST, "command name '" + request.command()
          + "' is empty, longer than " + CommandNames.MAX_LENGTH
          + " or has characters outside A-Z a-z 0-9 _ -; no QMP command is spelled so");
    }
    CompiledRule[] candidates = byCommand.getOrDefault(command, globRules);
    String caller = request.caller().id();
    if (matchMode == MatchMode.FIRST) {
      for (CompiledRule rule : candidates) {
        if (rule.matches(caller, command, arguments)) {
          return rule.decide(request);
        }
      }
      return defaultDecision;
    }
    CompiledRule best = null;
    for (CompiledRule rule : candidates) {
      if (rule.matches(caller, command, arguments) && beats(rule, best)) {
        best = rule;
      }
    }
    return best == null ? defaultDecision : best.decide(request);
  }

  private static boolean beats(CompiledRule rule, CompiledRule best) {
    if (best == null || rule.specificity() > best.specificity()) {
      return true;
    }
    return rule.specificity() == best.specificity()
        && rule.effect() == Effect.DENY
        && best.effect() == Effect.ALLOW;
  }
}
