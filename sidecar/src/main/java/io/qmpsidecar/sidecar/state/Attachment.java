package io.qmpsidecar.sidecar.state;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;

/**
 * A device the sidecar attached, as stored and reported.
 *
 * @param vm the VM
 * @param id the QEMU device id ({@code /machine/peripheral/ID})
 * @param driver the QEMU driver
 * @param hostBdf the host PCI function, or null for an emulated device and for an mdev (whose
 *     {@code sysfsdev} is in {@code properties})
 * @param rootPort the root port it is plugged into
 * @param properties the exact {@code device_add} arguments
 * @param hostRebound whether host prep rebound the function (then {@code previousHostDriver} is
 *     what to restore; null means it had no driver)
 * @param previousHostDriver see {@code hostRebound}
 * @param guestAddress the guest's {@code BB:SS.F} when the root port's bus is numbered, else null
 * @param migrationBlockedReasons QEMU's {@code blocked-reasons} after the attach: empty means the
 *     VM can still migrate
 * @param state attaching (intent stored, not yet verified), attached, or detaching (removal
 *     requested, not yet confirmed)
 * @param opId the operation that made it
 * @param attachedBy the caller that attached it (e.g. {@code dpu}, {@code api:local}); null for a
 *     device the sidecar did not attach, and for records older than this member
 */
public record Attachment(String vm, String id, String driver, String hostBdf, String rootPort,
    JsonNode properties, boolean hostRebound, String previousHostDriver, String guestAddress,
    List<String> migrationBlockedReasons, AttachmentState state, String opId, String attachedBy) {

  public Attachment {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(driver, "driver");
    Objects.requireNonNull(properties, "properties");
    Objects.requireNonNull(state, "state");
    migrationBlockedReasons = List.copyOf(migrationBlockedReasons);
  }

  public Attachment withState(AttachmentState newState) {
    return new Attachment(vm, id, driver, hostBdf, rootPort, properties, hostRebound,
        previousHostDriver, guestAddress, migrationBlockedReasons, newState, opId, attachedBy);
  }
}
