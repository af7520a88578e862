package io.qmpsidecar.policy;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the sidecar knows about a request besides its command and arguments, resolved before the
 * decision: the engine is synchronous and never reads state itself.
 *
 * @param via the way the request came (set by the entry point)
 * @param hotplug the sysfs facts of the function a {@code device_add} would attach, when the attach
 *     flow resolved them
 * @param facts named sets of strings the sidecar resolved for this request, e.g. {@code attached}:
 *     the ids of the devices its records show as attached to the target VM. A rule that names a
 *     fact set the request does not carry sees an empty set. {@link Policy#factNames(String)} says
 *     which sets the rules for a command use, so the sidecar resolves only those.
 */
public record RequestContext(Via via, Optional<HotplugFacts> hotplug, Map<String, Set<String>> facts) {

  /** A client's QMP command with nothing resolved: the context of {@link PolicyRequest#of}. */
  public static final RequestContext PASSTHROUGH =
      new RequestContext(Via.PASSTHROUGH, Optional.empty(), Map.of());

  public RequestContext {
    Objects.requireNonNull(via, "via");
    Objects.requireNonNull(hotplug, "hotplug");
    Map<String, Set<String>> copy = new HashMap<>();
    Objects.requireNonNull(facts, "facts").forEach((k, v) -> copy.put(k, Set.copyOf(v)));
    facts = Map.copyOf(copy);
  }

  /** A context for requests that came {@code via} with nothing resolved yet. */
  public static RequestContext of(Via via) {
    return new RequestContext(via, Optional.empty(), Map.of());
  }

  /** The same context with the attach flow's sysfs facts. */
  public RequestContext withHotplug(HotplugFacts facts) {
    return new RequestContext(via, Optional.of(facts), this.facts);
  }

  /** The same context with one more fact set (replacing one of the same name). */
  public RequestContext withFacts(String name, Collection<String> values) {
    Map<String, Set<String>> copy = new HashMap<>(facts);
    copy.put(Objects.requireNonNull(name, "name"), Set.copyOf(values));
    return new RequestContext(via, hotplug, copy);
  }

  /** The fact set called {@code name}; empty when the request carries none. */
  public Set<String> fact(String name) {
    return facts.getOrDefault(name, Set.of());
  }
}
