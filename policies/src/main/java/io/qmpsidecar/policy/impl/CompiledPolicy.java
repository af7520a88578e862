package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Classification;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.MatchMode;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.policy.Via;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

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
  private final Set<String> valueSetNames;
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
      List<String> exactCommands,
      Set<String> valueSetNames) {
    this.version = version;
    this.name = name;
    this.source = source;
    this.matchMode = matchMode;
    this.rules = List.copyOf(rules);
    this.defaultDecision = defaultDecision;
    this.rateLimits = List.copyOf(rateLimits);
    this.automation = List.copyOf(automation);
    this.valueSetNames = Set.copyOf(valueSetNames);
    this.globRules = rules.stream().filter(CompiledRule::hasCommandGlob).toArray(CompiledRule[]::new);
    for (String command : exactCommands) {
      byCommand.put(command, candidates(command).toArray(new CompiledRule[0]));
    }
  }

  private List<CompiledRule> candidates(String canonicalCommand) {
    List<CompiledRule> candidates = new ArrayList<>();
    for (CompiledRule rule : rules) {
      if (rule.matchesCommand(canonicalCommand)) {
        candidates.add(rule);
      }
    }
    return candidates;
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

  @Override
  public Set<String> valueSetNames() {
    return new TreeSet<>(valueSetNames);
  }

  @Override
  public Set<String> factNames(String command) {
    Set<String> names = new TreeSet<>();
    String canonical = CommandNames.canonical(command);
    if (canonical != null) {
      candidates(canonical).forEach(rule -> names.addAll(rule.facts()));
    }
    return names;
  }

  @Override
  public Classification classify(Caller caller, String command, Via via) {
    List<Classification.ClosedForm> closed = new ArrayList<>();
    List<String> open = new ArrayList<>();
    String canonical = CommandNames.canonical(command);
    if (canonical != null) {
      for (CompiledRule rule : candidates(canonical)) {
        if (rule.effect() == Effect.ALLOW && rule.applies(caller.id(), canonical, via)) {
          Classification.ClosedForm form = rule.closedForm();
          if (form == null) {
            open.add(rule.id());
          } else {
            closed.add(form);
          }
        }
      }
    }
    return new Classification(closed, open, defaultDecision.allowed());
  }

  List<RateLimitSpec> rateLimits() {
    return rateLimits;
  }

  List<AutomationRule> automation() {
    return automation;
  }

  @Override
  public Decision decide(PolicyRequest request, ValueSets valueSets) {
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
    EvalContext context = new EvalContext(request.context(), valueSets);
    CompiledRule[] candidates = byCommand.getOrDefault(command, globRules);
    String caller = request.caller().id();
    Via via = request.context().via();
    CompiledRule best = null;
    String closest = null;
    for (CompiledRule rule : candidates) {
      if (!rule.applies(caller, command, via) || !rule.conditionsHold(arguments, context)) {
        continue;
      }
      String violation = rule.schemaViolation(arguments, context);
      if (violation != null) {
        if (closest == null && rule.effect() == Effect.ALLOW) {
          closest = "rule " + rule.id() + " does not allow it: " + violation;
        }
        continue;
      }
      if (matchMode == MatchMode.FIRST) {
        return rule.decide(request, context);
      }
      if (beats(rule, best)) {
        best = rule;
      }
    }
    if (best != null) {
      return best.decide(request, context);
    }
    if (closest != null && !defaultDecision.allowed()) {
      return Decision.deny(defaultDecision.ruleId(), defaultDecision.reason() + "; " + closest);
    }
    return defaultDecision;
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
