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
 */
public record ReconcileReport(String vm, List<String> missing, List<String> unknown,
    List<String> completed, List<String> watching) {
  public ReconcileReport {
    missing = List.copyOf(missing);
    unknown = List.copyOf(unknown);
    completed = List.copyOf(completed);
    watching = List.copyOf(watching);
  }
}
