package io.qmpsidecar.relay;

import io.qmpsidecar.relay.conformance.HostEndConformance;
import io.qmpsidecar.relay.conformance.HostEndFixture;
import io.qmpsidecar.relay.testing.ReferenceHostEnd;
import java.nio.file.Path;

/** This project's host end ({@link RelayHost}) against every promise of the protocol. */
class RelayHostConformanceTest extends HostEndConformance {

  @Override
  protected HostEndFixture newHost(Path dir) {
    return new ReferenceHostEnd(dir);
  }
}
