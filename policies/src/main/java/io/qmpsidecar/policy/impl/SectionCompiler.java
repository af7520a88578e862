package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Compiles the {@code rate-limits} and {@code automation} sections of a policy. */
final class SectionCompiler {

  private static final Pattern CALLER = Pattern.compile("[A-Za-z0-9._@:*?-]{1,80}");
  /** A QEMU event name (capitals) or a sidecar event type (lower case, dots), or a glob of either. */
  private static final Pattern EVENT = Pattern.compile("[A-Z0-9_*?]{1,64}|[a-z0-9*?][a-z0-9.*?-]{0,63}");
  private static final Pattern COMMAND = Pattern.compile("[A-Za-z0-9_-]{1,128}");
  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
  private static final Set<String> LIMIT = Set.of("id", "callers", "burst", "per-second");
  private static final Set<String> AUTOMATION = Set.of("id", "event", "when", "run", "cooldown");

  private final Problems problems;
  private final Fields fields;
  private final MatcherCompiler matchers;

  SectionCompiler(Problems problems, Fields fields, MatcherCompiler matchers) {
    this.problems = problems;
    this.fields = fields;
    this.matchers = matchers;
  }

  List<RateLimitSpec> rateLimits(JsonNode list) {
    List<RateLimitSpec> limits = new ArrayList<>();
    if (!isList(list, "rate-limits")) {
      return limits;
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      String field = "rate-limits[" + i + "]";
      JsonNode spec = list.get(i);
      if (!spec.isObject()) {
        problems.at(field, "a rate limit must be a map with id, callers, burst and per-second");
        continue;
      }
      fields.onlyKeys(spec, LIMIT, field);
      String id = uniqueId(spec, field, ids);
      List<StringMatcher> callers = new ArrayList<>();
      fields.patterns(spec, "callers", field, CALLER, "a caller id or glob, e.g. 'api:*'")
          .forEach(c -> callers.add(StringMatcher.glob(c)));
      long burst = (long) number(spec, "burst", field, 1, 1_000_000, true);
      double perSecond = number(spec, "per-second", field, 0.001, 1_000_000, false);
      if (id != null && !callers.isEmpty() && burst > 0 && perSecond > 0) {
        limits.add(new RateLimitSpec(id, List.copyOf(callers), burst, perSecond));
      }
    }
    return limits;
  }

  List<AutomationRule> automation(JsonNode list) {
    List<AutomationRule> rules = new ArrayList<>();
    if (!isList(list, "automation")) {
      return rules;
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      String field = "automation[" + i + "]";
      JsonNode spec = list.get(i);
      if (!spec.isObject()) {
        problems.at(field, "an automation rule must be a map with id, event, run and cooldown");
        continue;
      }
      fields.onlyKeys(spec, AUTOMATION, field);
      String id = uniqueId(spec, field, ids);
      String event = fields.string(spec, "event", field, EVENT,
          "a QMP event name or glob in capitals (GUEST_PANICKED), or a sidecar event type or glob in lower case"
              + " (device.detached, attach.*)");
      List<Condition> when = matchers.conditions(spec.get("when"), field + ".when", "data");
      JsonNode run = spec.get("run");
      String command = null;
      JsonNode arguments = null;
      if (run == null || !run.isObject()) {
        problems.at(run == null ? field : field + ".run",
            "needs 'run' with the command to request, e.g. {execute: system_reset}");
      } else {
        fields.onlyKeys(run, Set.of("execute", "arguments"), field + ".run");
        command = fields.string(run, "execute", field + ".run", COMMAND, "a QMP command name");
        arguments = run.has("arguments") ? run.get("arguments") : JsonNodeFactory.instance.objectNode();
        if (!arguments.isObject()) {
          problems.at(field + ".run.arguments", "must be a map of the command's arguments");
        }
      }
      long cooldown = cooldown(spec, field);
      if (id != null && event != null && command != null && arguments.isObject() && cooldown >= 0) {
        rules.add(new AutomationRule(id, StringMatcher.glob(event), List.copyOf(when), command,
            arguments.deepCopy(), cooldown));
      }
    }
    return rules;
  }

  private boolean isList(JsonNode list, String field) {
    if (list == null) {
      return false;
    }
    if (!list.isArray()) {
      problems.at(field, "must be a list");
      return false;
    }
    return true;
  }

  private String uniqueId(JsonNode spec, String field, Set<String> ids) {
    String id = fields.string(spec, "id", field, PolicyCompiler.ID, PolicyCompiler.ID_HINT);
    if (id != null && !ids.add(id)) {
      problems.at(field + ".id", "duplicate id '" + id + "': ids must be unique in a section");
      return null;
    }
    return id;
  }

  private long cooldown(JsonNode spec, String field) {
    JsonNode value = spec.get("cooldown");
    if (value == null) {
      problems.at(field, "missing required field 'cooldown', e.g. 'cooldown: 60s' (0s for none)");
      return -1;
    }
    Matcher m = value.isTextual() ? DURATION.matcher(value.textValue()) : null;
    if (m == null || !m.matches()) {
      problems.at(field + ".cooldown", value + " is not a duration: write a whole number with"
          + " ms, s, m or h, e.g. 30s");
      return -1;
    }
    long amount = Long.parseLong(m.group(1));
    switch (m.group(2)) {
      case "ms":
        return amount;
      case "s":
        return amount * 1000;
      case "m":
        return amount * 60_000;
      default:
        return amount * 3_600_000;
    }
  }

  /** A number in [min, max], or -1 after reporting a problem. */
  private double number(
      JsonNode spec, String key, String field, double min, double max, boolean whole) {
    JsonNode value = spec.get(key);
    String what = (whole ? "a whole number" : "a number") + " from " + fmt(min) + " to " + fmt(max);
    if (value == null) {
      problems.at(field, "missing required field '" + key + "': " + what);
      return -1;
    }
    if (!value.isNumber() || (whole && !value.isIntegralNumber())
        || value.doubleValue() < min || value.doubleValue() > max) {
      problems.at(field + "." + key, value + " is not " + what);
      return -1;
    }
    return value.doubleValue();
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}
