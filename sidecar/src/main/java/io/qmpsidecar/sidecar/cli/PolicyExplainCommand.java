package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.HotplugFacts;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyLoadException;
import io.qmpsidecar.policy.RequestContext;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.policy.Via;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code qmp-sidecar policy explain}: prints the decision on one request and the deciding rule. */
@Command(
    name = "explain",
    mixinStandardHelpOptions = true,
    description = "Decide one QMP command for a caller and print the rule that decided.")
final class PolicyExplainCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Mixin PolicySource source;

  @Option(
      names = "--caller",
      required = true,
      paramLabel = "CALLER",
      description = "Who asks: dpu, cli, api:<token-name>, proxy:<client> or rule:<id>.")
  String caller;

  @Option(
      names = "--command",
      required = true,
      paramLabel = "JSON",
      description = "The QMP command as a client sends it, e.g. '{\"execute\":\"query-status\"}'.")
  String command;

  @Option(
      names = "--facts",
      paramLabel = "JSON",
      description = "Hotplug facts for a vfio-pci attach: {\"bdf\":…, \"physfn\":…, \"vendor\":…,"
          + " \"device\":…, \"attached\":N, \"exclusive\":true|false, \"driver\":…}.")
  String facts;

  @Option(
      names = "--via",
      paramLabel = "WAY",
      defaultValue = "passthrough",
      description = "How the request comes: passthrough (default), attach, detach, migrate, relay,"
          + " automation.")
  String via;

  @Option(
      names = "--fact",
      paramLabel = "NAME=VALUE",
      description = "A member of a fact set the sidecar would resolve, e.g. attached=hp0;"
          + " repeat for more.")
  List<String> factSets = new ArrayList<>();

  @Option(
      names = "--value-set",
      paramLabel = "NAME=VALUE",
      description = "A member of a value set of the configuration, e.g."
          + " migration.destinations=tcp:10.0.0.2:4444; repeat for more.")
  List<String> valueSets = new ArrayList<>();

  @Override
  public Integer call() {
    Caller who;
    try {
      who = new Caller(caller);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    RequestContext context;
    Map<String, List<String>> sets;
    try {
      context = RequestContext.of(Via.of(via));
      for (Map.Entry<String, List<String>> fact : pairs("--fact", factSets).entrySet()) {
        context = context.withFacts(fact.getKey(), fact.getValue());
      }
      sets = pairs("--value-set", valueSets);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (facts != null) {
      context = context.withHotplug(parseFacts());
    }
    Policy policy;
    try {
      policy = source.load(spec.commandLine());
    } catch (PolicyLoadException e) {
      return PolicyCommand.printInvalid(e, spec.commandLine().getErr());
    }
    PolicyEngine engine;
    try {
      engine = new PolicyEngine(policy, ValueSets.of(sets), AuditSink.NONE, Clock.systemUTC());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "invalid --value-set: "
          + e.getMessage());
    }
    Decision decision = engine.decideText(who, command, context);
    PrintWriter out = spec.commandLine().getOut();
    out.println(decision);
    out.flush();
    return decision.allowed() ? PolicyCommand.OK : PolicyCommand.DENIED;
  }

  private HotplugFacts parseFacts() {
    try {
      JsonNode f = JSON.readTree(facts);
      String bdf = text(f, "bdf");
      String vendor = text(f, "vendor");
      String device = text(f, "device");
      Optional<String> physfn = Optional.ofNullable(f.get("physfn")).map(JsonNode::asText);
      JsonNode attached = f.get("attached");
      JsonNode exclusive = f.get("exclusive");
      if (attached == null || !attached.canConvertToInt() || exclusive == null
          || !exclusive.isBoolean()) {
        throw badFacts("'attached' must be a number and 'exclusive' true or false");
      }
      HotplugFacts parsed = new HotplugFacts(bdf, physfn, vendor, device, attached.intValue(),
          exclusive.booleanValue());
      return f.has("driver") ? parsed.withHostDriver(text(f, "driver")) : parsed;
    } catch (JsonProcessingException e) {
      throw badFacts("not JSON (" + e.getOriginalMessage() + ")");
    } catch (IllegalArgumentException e) {
      throw badFacts(e.getMessage());
    }
  }

  /** NAME=VALUE options, grouped by name. */
  private static Map<String, List<String>> pairs(String option, List<String> values) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (String pair : values) {
      int eq = pair.indexOf('=');
      if (eq <= 0 || eq == pair.length() - 1) {
        throw new IllegalArgumentException("invalid " + option + " '" + pair
            + "': write NAME=VALUE, e.g. " + (option.equals("--fact") ? "attached=hp0"
            : "migration.destinations=tcp:10.0.0.2:4444"));
      }
      out.computeIfAbsent(pair.substring(0, eq), k -> new ArrayList<>()).add(pair.substring(eq + 1));
    }
    return out;
  }

  private static String text(JsonNode f, String key) {
    JsonNode value = f.get(key);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException("'" + key + "' must be a string");
    }
    return value.textValue();
  }

  private CommandLine.ParameterException badFacts(String why) {
    return new CommandLine.ParameterException(spec.commandLine(), "invalid --facts: " + why
        + "; give {\"bdf\":\"0000:03:00.2\",\"physfn\":\"0000:03:00.0\",\"vendor\":\"15b3\","
        + "\"device\":\"101e\",\"attached\":0,\"exclusive\":true}");
  }
}
