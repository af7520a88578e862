package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.HotplugFacts;
import java.util.Optional;

/**
 * Decides whether a caller may make an attach, once the flow knows everything the decision needs:
 * the exact {@code device_add} arguments (with the chosen root port and id) and the host
 * function's sysfs facts. The operations layer implements it with the policy engine, so the
 * decision is made, audited and counted once, there.
 */
@FunctionalInterface
public interface AttachAuthorizer {

  /**
   * @param what the attach in words, for the refusal's message
   * @throws io.qmpsidecar.sidecar.failure.SidecarException {@code DENIED} or {@code THROTTLED}
   *     when the caller may not
   */
  void authorize(Caller caller, String what, ObjectNode deviceAddArguments, Optional<HotplugFacts> facts);
}
