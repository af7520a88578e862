package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.MatchMode;
import io.qmpsidecar.policy.PolicyLoadException;
import io.qmpsidecar.policy.Via;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Turns policy text into a {@link CompiledPolicy}, or throws a {@link PolicyLoadException}
 * listing every problem. Validation and compilation are one pass, so what was validated is
 * exactly what runs.
 */
public final class PolicyCompiler {

  /** The only schema version this engine reads. */
  public static final int SCHEMA_VERSION = 1;

  static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  static final String ID_HINT = "1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit";
  private static final Pattern CALLER = Pattern.compile("[A-Za-z0-9._@:*?-]{1,80}");
  private static final String CALLER_HINT =
      "a caller id or glob, e.g. dpu, cli, 'api:*', 'proxy:backup-?'";
  private static final Pattern COMMAND = Pattern.compile("[A-Za-z0-9_*?-]{1,128}");
  private static final String COMMAND_HINT = "a QMP command name or glob, e.g. device_add, 'query-*'";
  private static final Set<String> TOP =
      Set.of("version", "name", "description", "match", "rules", "default", "rate-limits",
          "automation");
  private static final Set<String> RULE =
      Set.of("id", "effect", "callers", "commands", "via", "when", "arguments", "hotplug", "reason");

  private final Problems problems;
  private final Fields fields;
  private final MatcherCompiler matchers;
  private final Set<String> valueSets = new TreeSet<>();

  private PolicyCompiler(Problems problems) {
    this.problems = problems;
    this.fields = new Fields(problems);
    this.matchers = new MatcherCompiler(problems);
  }

  /**
   * Compiles a policy document.
   *
   * @param text the document
   * @param source where it came from, used in errors and {@link CompiledPolicy#source()}
   * @param json true to parse as JSON, false as YAML
   * @throws PolicyLoadException listing every problem found
   */
  public static CompiledPolicy compile(String text, String source, boolean json) {
    Problems problems = new Problems(source);
    LocatedTree tree = LocatedTree.parse(text, json, problems);
    problems.attach(tree);
    JsonNode root = tree.root();
    if (root == null) {
      if (!problems.any()) {
        problems.add(0, 0, "", "the file is empty: start it with 'version: 1'");
      }
      problems.throwIfAny();
    }
    if (!root.isObject()) {
      problems.at("", "the document must be a map with version, name and rules");
      problems.throwIfAny();
    }
    CompiledPolicy policy = new PolicyCompiler(problems).document(root, source);
    problems.throwIfAny();
    return policy;
  }

  private CompiledPolicy document(JsonNode root, String source) {
    fields.onlyKeys(root, TOP, "");
    JsonNode version = root.get("version");
    if (version == null) {
      problems.at("", "missing required field 'version': start the file with 'version: 1'");
    } else if (!version.isIntegralNumber() || version.intValue() != SCHEMA_VERSION) {
      problems.at("version", "unsupported schema version " + version
          + ": this qmp-sidecar reads version " + SCHEMA_VERSION);
    }
    String name = fields.string(root, "name", "", null, "give the policy a name");
    fields.optionalString(root, "description", "", "");
    MatchMode mode = matchMode(root);
    List<CompiledRule> rules = new ArrayList<>();
    Set<String> exactCommands = new LinkedHashSet<>();
    JsonNode ruleList = root.get("rules");
    if (ruleList == null) {
      problems.at("", "missing required field 'rules': list the rules, even if empty ([])");
    } else if (!ruleList.isArray()) {
      problems.at("rules", "must be a list of rules");
    } else {
      Set<String> ids = new HashSet<>();
      for (int i = 0; i < ruleList.size(); i++) {
        CompiledRule rule = rule(ruleList.get(i), "rules[" + i + "]", ids, exactCommands);
        if (rule != null) {
          rules.add(rule);
        }
      }
    }
    Decision fallback = defaultDecision(root.get("default"));
    SectionCompiler sections = new SectionCompiler(problems, fields, matchers);
    List<RateLimitSpec> limits = sections.rateLimits(root.get("rate-limits"));
    List<AutomationRule> automation = sections.automation(root.get("automation"));
    if (problems.any()) {
      return null;
    }
    return new CompiledPolicy(SCHEMA_VERSION, name, source, mode, rules, fallback, limits,
        automation, List.copyOf(exactCommands), valueSets);
  }

  private MatchMode matchMode(JsonNode root) {
    String match = fields.optionalString(root, "match", "", "first");
    switch (match) {
      case "first":
        return MatchMode.FIRST;
      case "most-specific":
        return MatchMode.MOST_SPECIFIC;
      default:
        problems.at("match", "unknown match mode '" + match + "': use first or most-specific");
        return MatchMode.FIRST;
    }
  }

  private CompiledRule rule(JsonNode spec, String field, Set<String> ids, Set<String> exact) {
    if (!spec.isObject()) {
      problems.at(field, "a rule must be a map with id, effect, callers and commands");
      return null;
    }
    fields.onlyKeys(spec, RULE, field);
    String id = fields.string(spec, "id", field, ID, ID_HINT);
    if (id != null && !ids.add(id)) {
      problems.at(field + ".id", "duplicate rule id '" + id + "': rule ids must be unique");
    }
    Effect effect = effect(spec, field);
    List<StringMatcher> callers = new ArrayList<>();
    for (String caller : fields.patterns(spec, "callers", field, CALLER, CALLER_HINT)) {
      callers.add(StringMatcher.glob(caller));
    }
    List<StringMatcher> commands = new ArrayList<>();
    for (String command : fields.patterns(spec, "commands", field, COMMAND, COMMAND_HINT)) {
      StringMatcher matcher = StringMatcher.glob(CommandNames.canonicalPattern(command));
      commands.add(matcher);
      if (matcher instanceof StringMatcher.Exact e) {
        exact.add(e.name());
      }
    }
    Set<Via> via = via(spec.get("via"), field + ".via");
    List<Condition> conditions = matchers.conditions(spec.get("when"), field + ".when", "arguments");
    Set<String> facts = new TreeSet<>();
    for (Condition condition : conditions) {
      if (condition.factName() != null) {
        facts.add(condition.factName());
      }
      if (condition.valueSetName() != null) {
        valueSets.add(condition.valueSetName());
      }
    }
    ArgumentSchema schema = null;
    boolean schemaOk = true;
    if (spec.has("arguments")) {
      SchemaCompiler schemas = new SchemaCompiler(problems, matchers);
      schema = schemas.object(spec.get("arguments"), field + ".arguments");
      schemaOk = schema != null;
      facts.addAll(schemas.facts());
      valueSets.addAll(schemas.valueSets());
    }
    HotplugConstraint hotplug = null;
    if (spec.has("hotplug")) {
      hotplug = new HotplugCompiler(problems, matchers, valueSets)
          .compile(spec.get("hotplug"), field + ".hotplug");
      if (effect == Effect.DENY) {
        problems.at(field + ".hotplug", "hotplug constraints limit what an allow rule allows;"
            + " on a deny rule they mean nothing: set effect: allow or remove them");
      }
    }
    String reason = fields.optionalString(spec, "reason", field,
        "rule " + id + (effect == Effect.ALLOW ? " allows" : " denies") + " this request");
    if (id == null || effect == null || callers.isEmpty() || commands.isEmpty() || via == null
        || !schemaOk) {
      return null;
    }
    return new CompiledRule(id, effect, callers, commands, via, conditions, schema, hotplug, facts,
        reason);
  }

  /** The ways a rule applies to; empty for every way, {@code null} after a problem. */
  private Set<Via> via(JsonNode spec, String field) {
    Set<Via> ways = EnumSet.noneOf(Via.class);
    if (spec == null) {
      return ways;
    }
    JsonNode list = spec.isTextual() ? JsonNodeFactory.instance.arrayNode().add(spec) : spec;
    if (!list.isArray() || list.isEmpty()) {
      problems.at(field, "must be a way or a non-empty list of ways: passthrough, attach, detach,"
          + " migrate, relay, automation, live-update");
      return null;
    }
    boolean ok = true;
    for (int i = 0; i < list.size(); i++) {
      JsonNode element = list.get(i);
      try {
        ways.add(Via.of(element.isTextual() ? element.textValue() : element.toString()));
      } catch (IllegalArgumentException e) {
        problems.at(field + "[" + i + "]", e.getMessage());
        ok = false;
      }
    }
    return ok ? ways : null;
  }

  private Effect effect(JsonNode spec, String field) {
    String effect = fields.string(spec, "effect", field, Pattern.compile("allow|deny"),
        "use allow or deny");
    return effect == null ? null : Effect.valueOf(effect.toUpperCase(java.util.Locale.ROOT));
  }

  private Decision defaultDecision(JsonNode spec) {
    String fallbackReason = "no rule matched this caller and command; the policy denies by default";
    if (spec == null) {
      return Decision.deny("default", fallbackReason);
    }
    if (!spec.isObject()) {
      problems.at("default", "must be a map with effect and optionally reason");
      return Decision.deny("default", fallbackReason);
    }
    fields.onlyKeys(spec, Set.of("effect", "reason"), "default");
    Effect effect = effect(spec, "default");
    String reason = fields.optionalString(spec, "reason", "default",
        effect == Effect.ALLOW ? "no rule matched; the policy allows by default" : fallbackReason);
    return new Decision(effect == null ? Effect.DENY : effect, "default", reason);
  }
}
