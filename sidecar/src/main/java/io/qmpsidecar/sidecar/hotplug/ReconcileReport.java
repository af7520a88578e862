package io.qmpsidecar.sidecar.hotplug;

import java.util.List;

/**
 * What a reconcile found.
 *
 * @param missing stored attachments QEMU no longer has (forgotten; {@code drift.device-missing})
 * @param unknown hot-plugged devices QEMU has that the sidecar did not attach
 *     ({@code drift.device-unknown}; left alone)
 * @param completed pending removals found complete ({@code device.detached})
 * @param watching pending removals still waiting for the guest
 * @param adopted attaches that did not finish, found done in QEMU ({@code attach.adopted})
 * @param abandoned attaches that did not finish, not in QEMU ({@code attach.abandoned})
 */
public record ReconcileReport(String vm, List<String> missing, List<String> unknown,
    List<String> completed, List<String> watching, List<String> adopted, List<String> abandoned) {
  public ReconcileReport {
    adopted = List.copyOf(adopted);
    abandoned = List.copyOf(abandoned);
    missing = List.copyOf(missing);
    unknown = List.copyOf(unknown);
    completed = List.copyOf(completed);
    watching = List.copyOf(watching);
  }
}
