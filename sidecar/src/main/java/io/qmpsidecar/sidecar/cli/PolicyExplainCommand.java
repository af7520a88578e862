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
import java.io.PrintWriter;
import java.time.Clock;
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
          + " \"device\":…, \"attached\":N, \"exclusive\":true|false}.")
  String facts;

  @Override
  public Integer call() {
    Caller who;
    try {
      who = new Caller(caller);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    Optional<HotplugFacts> hotplug = facts == null ? Optional.empty() : Optional.of(parseFacts());
    Policy policy;
    try {
      policy = source.load(spec.commandLine());
    } catch (PolicyLoadException e) {
      return PolicyCommand.printInvalid(e, spec.commandLine().getErr());
    }
    PolicyEngine engine = new PolicyEngine(policy, AuditSink.NONE, Clock.systemUTC());
    Decision decision = engine.decideText(who, command, hotplug);
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
      return new HotplugFacts(bdf, physfn, vendor, device, attached.intValue(),
          exclusive.booleanValue());
    } catch (JsonProcessingException e) {
      throw badFacts("not JSON (" + e.getOriginalMessage() + ")");
    } catch (IllegalArgumentException e) {
      throw badFacts(e.getMessage());
    }
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
