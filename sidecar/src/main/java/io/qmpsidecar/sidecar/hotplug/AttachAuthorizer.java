package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.HotplugFacts;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.HostDevice;
import io.qmpsidecar.sidecar.hostprep.HostMdev;
import io.qmpsidecar.sidecar.state.Attachment;
import java.util.List;
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

  /**
   * The facts of attaching {@code host} or {@code mdev} (none for an emulated device) when the VM
   * already has {@code stored}: with the driver host prep will bind when it rebinds the function.
   */
  static Optional<HotplugFacts> facts(HostDevice host, HostMdev mdev, String hostDriver, List<Attachment> stored) {
    int attached = (int) stored.stream().filter(a -> a.hostBdf() != null || a.properties().has("sysfsdev")).count();
    if (mdev != null) {
      // An mdev's IOMMU group is its own: nothing else of the host is in it.
      return Optional.of(HotplugFacts.ofMdev(new HotplugFacts.Mdev(mdev.uuid(), mdev.type(), mdev.parent()),
          attached, true));
    }
    return Optional.ofNullable(host).map(h -> {
      HotplugFacts f = new HotplugFacts(h.bdf().value(), h.physfn().map(Bdf::value), h.vendorId(), h.deviceId(),
          attached, h.groupExclusive());
      return hostDriver == null || h.driver().equals(Optional.of(hostDriver)) ? f : f.withHostDriver(hostDriver);
    });
  }
}
