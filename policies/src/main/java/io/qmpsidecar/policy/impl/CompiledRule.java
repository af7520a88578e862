package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.Classification;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.policy.Via;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * One rule, compiled: caller and command patterns, the ways it applies to, conditions, an
 * optional closed argument schema and an optional hotplug constraint.
 */
final class CompiledRule {

  private final String id;
  private final Effect effect;
  private final StringMatcher[] callers;
  private final StringMatcher[] commands;
  private final Set<Via> via;
  private final Condition[] conditions;
  private final ArgumentSchema schema;
  private final HotplugConstraint hotplug;
  private final Set<String> facts;
  private final Decision decision;
  private final int specificity;

  CompiledRule(
      String id,
      Effect effect,
      List<StringMatcher> callers,
      List<StringMatcher> commands,
      Set<Via> via,
      List<Condition> conditions,
      ArgumentSchema schema,
      HotplugConstraint hotplug,
      Set<String> facts,
      String reason) {
    this.id = id;
    this.effect = effect;
    this.callers = callers.toArray(new StringMatcher[0]);
    this.commands = commands.toArray(new StringMatcher[0]);
    this.via = via.isEmpty() ? EnumSet.allOf(Via.class) : EnumSet.copyOf(via);
    this.conditions = conditions.toArray(new Condition[0]);
    this.schema = schema;
    this.hotplug = hotplug;
    this.facts = Set.copyOf(facts);
    this.decision = new Decision(effect, id, reason);
    int callerScore = callers.stream().mapToInt(StringMatcher::specificity).min().orElse(0);
    int commandScore = commands.stream().mapToInt(StringMatcher::specificity).min().orElse(0);
    int conditionCount = Math.min(conditions.size() + (hotplug == null ? 0 : 1)
        + (schema == null ? 0 : 1) + (via.isEmpty() ? 0 : 1), 99);
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

  /** The fact sets this rule's schema and conditions name. */
  Set<String> facts() {
    return facts;
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

  /** Whether the caller, command and way match (the rule's conditions aside). */
  boolean applies(String caller, String canonicalCommand, Via way) {
    if (!via.contains(way)) {
      return false;
    }
    boolean callerMatches = false;
    for (StringMatcher pattern : callers) {
      if (pattern.matches(caller)) {
        callerMatches = true;
        break;
      }
    }
    return callerMatches && matchesCommand(canonicalCommand);
  }

  /** Whether every condition holds (for a rule that {@link #applies}). */
  boolean conditionsHold(JsonNode arguments, EvalContext context) {
    for (Condition condition : conditions) {
      if (!condition.test(arguments, context)) {
        return false;
      }
    }
    return true;
  }

  /** {@code null} when the arguments fit the closed schema (or there is none), else why not. */
  String schemaViolation(JsonNode arguments, EvalContext context) {
    return schema == null ? null : schema.violation(arguments, context, "arguments");
  }

  boolean hasSchema() {
    return schema != null;
  }

  /** The decision of this rule for a request it matches, after its hotplug constraint. */
  Decision decide(PolicyRequest request, EvalContext context) {
    if (hotplug != null) {
      String violation = hotplug.violation(request, context);
      if (violation != null) {
        return Decision.deny(id, "hotplug constraint not met: " + violation);
      }
    }
    return decision;
  }

  /** This allow rule's schema as a {@link Classification.ClosedForm}; null without one. */
  Classification.ClosedForm closedForm() {
    if (schema == null) {
      return null;
    }
    return new Classification.ClosedForm() {
      @Override
      public String ruleId() {
        return id;
      }

      @Override
      public Set<String> argumentNames() {
        return schema.names();
      }

      @Override
      public boolean accepts(String argument, JsonNode value) {
        ArgumentSchema.ValueSchema member = schema.member(argument);
        return member != null && member.violation(value, EvalContext.NONE, argument) == null;
      }

      @Override
      public String toString() {
        return "rule " + id + " " + ArgumentSchema.sorted(schema.names());
      }
    };
  }
}
