package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.Objects;
import java.util.Optional;

/**
 * One QMP command a caller wants to run, as the engine sees it.
 *
 * @param caller who asks (set by the entry point that authenticated it)
 * @param command the QMP command name exactly as it will be sent ({@code execute} member)
 * @param arguments the {@code arguments} member; an empty object when the command has none. The
 *     engine denies a request whose arguments are not a JSON object, as QEMU would reject it.
 * @param hotplugFacts the sysfs facts for a {@code vfio-pci} attach, when the hotplug flow
 *     resolved them
 */
public record PolicyRequest(
    Caller caller, String command, JsonNode arguments, Optional<HotplugFacts> hotplugFacts) {

  public PolicyRequest {
    Objects.requireNonNull(caller, "caller");
    Objects.requireNonNull(command, "command");
    arguments = arguments == null ? JsonNodeFactory.instance.objectNode() : arguments;
    Objects.requireNonNull(hotplugFacts, "hotplugFacts");
  }

  /** A request without hotplug facts. */
  public static PolicyRequest of(Caller caller, String command, JsonNode arguments) {
    return new PolicyRequest(caller, command, arguments, Optional.empty());
  }

  /** The same request carrying the given hotplug facts. */
  public PolicyRequest withFacts(HotplugFacts facts) {
    return new PolicyRequest(caller, command, arguments, Optional.of(facts));
  }
}
