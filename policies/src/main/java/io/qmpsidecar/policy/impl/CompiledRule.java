package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.PolicyRequest;
import java.util.List;

/** One rule, compiled: caller and command patterns, conditions, optional hotplug constraint. */
final class CompiledRule {

  private final String id;
  private final Effect effect;
  private final StringMatcher[] callers;
  private final StringMatcher[] commands;
  private final Condition[] conditions;
  private final HotplugConstraint hotplug;
  private final Decision decision;
  private final int specificity;

  CompiledRule(
      String id,
      Effect effect,
      List<StringMatcher> callers,
      List<StringMatcher> commands,
      List<Condition> conditions,
      HotplugConstraint hotplug,
      String reason) {
    this.id = id;
    this.effect = effect;
    this.callers = callers.toArray(new StringMatcher[0]);
    this.commands = commands.toArray(new StringMatcher[0]);
    this.conditions = conditions.toArray(new Condition[0]);
    this.hotplug = hotplug;
    this.decision = new Decision(effect, id, reason);
    int callerScore = callers.stream().mapToInt(StringMatcher::specificity).min().orElse(0);
    int commandScore = commands.stream().mapToInt(StringMatcher::specificity).min().orElse(0);
    int conditionCount = Math.min(conditions.size() + (hotplug == null ? 0 : 1), 99);
    this.specificity = callerScore * 1000 + commandScore * 100 + conditionCount;
  }

  String id() {
    return id;
  }

  Effect effect() {
    return effect;
  }

  /** Higher is more specific; see {@link io.qmpsidecar.policy.MatchMode#MOST_SPECIFIC}. */
  int specificity() {
    return specificity;
  }

  boolean matchesCommand(String canonicalCommand) {
    for (StringMatcher command : commands) {
      if (command.matches(canonicalCommand)) {
        return true;
      }
    }
    return false;
  }

  boolean hasCommandGlob() {
    for (StringMatcher command : commands) {
      if (!(command instanceof StringMatcher.Exact)) {
        return true;
      }
    }
    return false;
  }

  boolean matches(String caller, String canonicalCommand, JsonNode arguments) {
    boolean callerMatches = false;
    for (StringMatcher pattern : callers) {
      if (pattern.matches(caller)) {
        callerMatches = true;
        break;
      }
    }
    if (!callerMatches || !matchesCommand(canonicalCommand)) {
      return false;
    }
    for (Condition condition : conditions) {
      if (!condition.test(arguments)) {
        return false;
      }
    }
    return true;
  }

  /** The decision of this rule for a request it matches, after its hotplug constraint. */
  Decision decide(PolicyRequest request) {
    if (hotplug != null) {
      String violation = hotplug.violation(request);
      if (violation != null) {
        return Decision.deny(id, "hotplug constraint not met: " + violation);
      }
    }
    return decision;
  }
}
