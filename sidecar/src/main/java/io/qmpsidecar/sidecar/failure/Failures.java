package io.qmpsidecar.sidecar.failure;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The failures that every layer meets the same way: a QEMU refusal, a policy decision, a bad
 * request. Failures that belong to one layer are made there (the VM registry's unknown VM, host
 * prep's unready function...), all with {@link SidecarException#of}.
 */
public final class Failures {
  /** The rule-id prefix of a decision made by a rate limit rather than a rule. */
  private static final String RATE_LIMIT = "rate-limit:";

  private Failures() {}

  /**
   * QEMU refused a command: {@link Kind#QEMU_ERROR} keeping QEMU's class and text unchanged in
   * the details {@code qemu} ({@code class}, {@code desc}) and the command in {@code command}.
   *
   * @param vm the VM, or null when not known here
   */
  public static SidecarException qemuRefused(String vm, QmpCommandException q) {
    Map<String, Object> qemu = new LinkedHashMap<>();
    qemu.put("class", q.errorClass());
    qemu.put("desc", q.description());
    return SidecarException.of(Kind.QEMU_ERROR, "qemu-error", (vm == null ? "" : "VM " + vm + ": ")
            + "QEMU refused " + q.command() + ": " + q.errorClass() + ": " + q.description())
        .vm(vm).fix(hint(q.description())).cause(q).detail("qemu", qemu).detail("command", q.command()).build();
  }

  /**
   * The policy did not allow {@code what}: {@link Kind#THROTTLED} when a rate limit decided,
   * else {@link Kind#DENIED}; the details carry {@code rule} and {@code reason}.
   */
  public static SidecarException denied(Caller caller, String what, Decision decision) {
    boolean throttled = decision.ruleId().startsWith(RATE_LIMIT);
    return SidecarException.of(throttled ? Kind.THROTTLED : Kind.DENIED, throttled ? "rate-limited" : "policy-denied",
            caller.id() + " may not " + what + ": denied by rule " + decision.ruleId() + ": " + decision.reason())
        .fix(throttled ? "slow down and retry later, or raise the policy's rate limit for this caller"
            : "change the policy or ask with a caller it allows")
        .detail("rule", decision.ruleId()).detail("reason", decision.reason()).build();
  }

  /** A request that cannot be read or is not what the route takes. */
  public static SidecarException badRequest(String message) {
    return SidecarException.of(Kind.INVALID, "bad-request", message).build();
  }

  private static String hint(String desc) {
    if (desc.contains("no such host device")) {
      return "check the BDF (ls /sys/bus/pci/devices) and the sidecar's sysfs root";
    }
    if (desc.contains("is not viable")) {
      return "bind every device of the IOMMU group to vfio-pci or unbind it";
    }
    if (desc.contains("Permission denied")) {
      return "give QEMU's user access to /dev/vfio/N";
    }
    if (desc.contains("does not support hotplugging")) {
      return "plug into a pcie-root-port, not pcie.0";
    }
    if (desc.contains("Duplicate device ID")) {
      return "choose another id or detach the existing device";
    }
    return "fix what QEMU names and retry";
  }
}
