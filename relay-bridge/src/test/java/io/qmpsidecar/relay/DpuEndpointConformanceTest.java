package io.qmpsidecar.relay;

import io.qmpsidecar.relay.conformance.DpuEndConformance;
import io.qmpsidecar.relay.conformance.DpuEndFixture;
import io.qmpsidecar.relay.testing.ReferenceDpuEnd;

/** This project's DPU end ({@link DpuEndpoint}) against every promise of the protocol. */
class DpuEndpointConformanceTest extends DpuEndConformance {

  @Override
  protected DpuEndFixture newDpu() {
    return new ReferenceDpuEnd();
  }
}
