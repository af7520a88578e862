package io.qmpsidecar.sidecar.relay;

import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.relay.conformance.HostEndConformance;
import io.qmpsidecar.relay.conformance.HostEndFixture;
import java.nio.file.Path;
import java.util.List;

/**
 * The sidecar, with a real QEMU behind it, against every promise of docs/relay-protocol.md that
 * its fixture can exercise; the others are skipped with the ability they need (a function whose
 * attach succeeds takes the VFIO lab). One QEMU of the matrix, the newest: the relay does not
 * depend on its version.
 */
class SidecarConformanceIT extends HostEndConformance {

  @Override
  protected HostEndFixture newHost(Path dir) {
    List<QemuBinary> all = QemuBinaries.all();
    return new SidecarHostEnd(dir, all.get(all.size() - 1));
  }
}
