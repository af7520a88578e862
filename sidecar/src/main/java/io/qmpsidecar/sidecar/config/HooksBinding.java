package io.qmpsidecar.sidecar.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/** Binds and validates the {@code hooks} list of the configuration (docs/automation.md). */
final class HooksBinding {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
  static final Duration MAX_TIMEOUT = Duration.ofMinutes(10);
  static final int DEFAULT_CONCURRENCY = 1;
  static final int MAX_CONCURRENCY = 16;
  static final int DEFAULT_QUEUE = 16;
  static final int MAX_QUEUE = 1024;
  static final int MAX_HOOKS = 64;
  private static final Set<String> KEYS = Set.of("name", "events", "prepare", "vms", "run", "timeout", "concurrency",
      "queue");
  private static final Set<String> OPERATIONS = Set.of("attach", "detach", "migrate", "live-update");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  /** An event type or a prefix pattern, as {@code GET /v1/events?type=} takes them. */
  private static final Pattern TYPE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\*?|\\*");

  private HooksBinding() {}

  static List<SidecarConfig.Hook> bind(JsonNode list, List<String> problems) {
    List<SidecarConfig.Hook> hooks = new ArrayList<>();
    if (list.isMissingNode() || list.isNull()) {
      return hooks;
    }
    if (!list.isArray()) {
      problems.add("hooks: must be a list of {name, events or prepare, run, ...} (see docs/automation.md)");
      return hooks;
    }
    if (list.size() > MAX_HOOKS) {
      problems.add("hooks: " + list.size() + " hooks; at most " + MAX_HOOKS);
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      SidecarConfig.Hook hook = hook(list.get(i), "hooks[" + i + "]", problems);
      if (hook != null && !names.add(hook.name())) {
        problems.add("hooks[" + i + "].name: '" + hook.name() + "' is used twice; hook names must be unique");
      }
      if (hook != null) {
        hooks.add(hook);
      }
    }
    return hooks;
  }

  private static SidecarConfig.Hook hook(JsonNode node, String where, List<String> problems) {
    if (!node.isObject()) {
      problems.add(where + ": must be a map with name, events (or prepare) and run");
      return null;
    }
    int before = problems.size();
    for (Iterator<String> keys = node.fieldNames(); keys.hasNext(); ) {
      String key = keys.next();
      if (!KEYS.contains(key)) {
        problems.add(where + "." + key + ": unknown key; a hook has " + String.join(", ", KEYS.stream().sorted().toList()));
      }
    }
    String name = node.path("name").asText("");
    if (!NAME.matcher(name).matches()) {
      problems.add(where + ".name: '" + name + "' must be 1-64 letters, digits, '.', '_' or '-', the first a letter"
          + " or digit");
    }
    List<String> events = strings(node, "events", where, t -> TYPE.matcher(t).matches(),
        "an event type such as qmp.DEVICE_DELETED or device.detached, a prefix such as qmp.*, or *", problems);
    List<String> prepare = strings(node, "prepare", where, OPERATIONS::contains, "attach, detach, migrate or live-update",
        problems);
    if (node.has("events") == node.has("prepare")) {
      problems.add(where + ": give either events (the hook runs on those events) or prepare (it runs before those"
          + " operations and may refuse them), not " + (node.has("events") ? "both" : "neither"));
    }
    List<String> vms = strings(node, "vms", where, SidecarConfig::isValidVmName, "a VM name", problems);
    List<String> run = strings(node, "run", where, s -> !s.isEmpty(), "a non-empty string", problems);
    if (run.isEmpty()) {
      problems.add(where + ".run: required: the program and its arguments, e.g. [/etc/qmp-sidecar/hooks/notify]");
    } else {
      Path program = Path.of(run.get(0));
      if (!program.isAbsolute()) {
        problems.add(where + ".run: '" + run.get(0) + "' must be an absolute path to the program");
      } else if (!Files.isRegularFile(program) || !Files.isExecutable(program)) {
        problems.add(where + ".run: " + program + " is not an executable file; install it or chmod +x it");
      }
    }
    Duration timeout = DEFAULT_TIMEOUT;
    if (node.has("timeout")) {
      timeout = ConfigLoader.duration(where + ".timeout", node.get("timeout").asText(), problems);
      if (timeout.compareTo(MAX_TIMEOUT) > 0) {
        problems.add(where + ".timeout: " + node.get("timeout").asText() + " is over the most, " + MAX_TIMEOUT.toMinutes()
            + "m");
      }
    }
    int concurrency = number(node, "concurrency", where, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY, problems);
    int queue = number(node, "queue", where, DEFAULT_QUEUE, 0, MAX_QUEUE, problems);
    if (problems.size() > before) {
      return null;
    }
    return new SidecarConfig.Hook(name, events, prepare, vms, run, timeout, concurrency, queue);
  }

  private static List<String> strings(JsonNode node, String key, String where, Predicate<String> valid, String expected,
      List<String> problems) {
    JsonNode list = node.path(key);
    if (list.isMissingNode() || list.isNull()) {
      return List.of();
    }
    if (!list.isArray() || list.isEmpty()) {
      problems.add(where + "." + key + ": must be a non-empty list");
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      JsonNode item = list.get(i);
      if (!item.isTextual() || !valid.test(item.asText())) {
        problems.add(where + "." + key + "[" + i + "]: " + item + " is not " + expected);
      } else {
        out.add(item.asText());
      }
    }
    return List.copyOf(out);
  }

  private static int number(JsonNode node, String key, String where, int byDefault, int min, int max,
      List<String> problems) {
    JsonNode value = node.get(key);
    if (value == null) {
      return byDefault;
    }
    if (!value.canConvertToInt() || !value.isIntegralNumber() || value.asInt() < min || value.asInt() > max) {
      problems.add(where + "." + key + ": " + value + " must be a whole number from " + min + " to " + max);
      return byDefault;
    }
    return value.asInt();
  }
}
