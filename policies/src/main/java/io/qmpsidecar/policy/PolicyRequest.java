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
 * @param context how the request came and what the sidecar resolved for it
 */
public record PolicyRequest(Caller caller, String command, JsonNode arguments, RequestContext context) {

  public PolicyRequest {
    Objects.requireNonNull(caller, "caller");
    Objects.requireNonNull(command, "command");
    arguments = arguments == null ? JsonNodeFactory.instance.objectNode() : arguments;
    Objects.requireNonNull(context, "context");
  }

  /**
   * A passthrough request carrying the attach flow's sysfs facts when present: the form before
   * {@link RequestContext}; prefer {@code new PolicyRequest(caller, command, arguments,
   * RequestContext.of(Via.ATTACH).withHotplug(facts))}.
   */
  public PolicyRequest(Caller caller, String command, JsonNode arguments, Optional<HotplugFacts> hotplugFacts) {
    this(caller, command, arguments, new RequestContext(Via.PASSTHROUGH, hotplugFacts,
        java.util.Map.of()));
  }

  /** A passthrough request with nothing resolved ({@link RequestContext#PASSTHROUGH}). */
  public static PolicyRequest of(Caller caller, String command, JsonNode arguments) {
    return new PolicyRequest(caller, command, arguments, RequestContext.PASSTHROUGH);
  }

  /** The sysfs facts of the function to attach, when resolved. */
  public Optional<HotplugFacts> hotplugFacts() {
    return context.hotplug();
  }

  /** The same request carrying the given hotplug facts. */
  public PolicyRequest withFacts(HotplugFacts facts) {
    return new PolicyRequest(caller, command, arguments, context.withHotplug(facts));
  }

  /** The same request in another context. */
  public PolicyRequest with(RequestContext newContext) {
    return new PolicyRequest(caller, command, arguments, newContext);
  }
}
