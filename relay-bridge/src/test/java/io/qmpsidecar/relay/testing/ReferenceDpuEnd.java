package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.conformance.DpuEndFixture;
import io.vertx.core.Vertx;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** This project's DPU end for the conformance suite: a {@link DpuEndpoint} in this JVM. */
public final class ReferenceDpuEnd implements DpuEndFixture {

  private final String dpuId;
  private final Vertx vertx = Vertx.vertx();
  private final List<Delivered> delivered = new CopyOnWriteArrayList<>();
  private DpuEndpoint endpoint;

  public ReferenceDpuEnd() {
    this("dpu-under-test");
  }

  /** @param dpuId the id its hello answers carry */
  public ReferenceDpuEnd(String dpuId) {
    this.dpuId = dpuId;
  }

  @Override
  public URI start(Settings s) {
    endpoint = Await.result(DpuEndpoint.listen(vertx, DpuEndpointOptions.defaults().withDpuId(dpuId)
        .withPath(s.path()).withMaxMessageBytes(s.maxMessageBytes())
        .withHeartbeat(s.heartbeatInterval(), s.heartbeatTimeout()).withHelloTimeout(s.helloTimeout())));
    endpoint.notificationHandler(n -> delivered.add(new Delivered(n.hostId(), n.seq(), n.method())));
    return URI.create("ws://127.0.0.1:" + endpoint.actualPort() + s.path());
  }

  @Override
  public String dpuId() {
    return dpuId;
  }

  @Override
  public Optional<List<Delivered>> delivered() {
    return Optional.of(List.copyOf(delivered));
  }

  @Override
  public void close() {
    if (endpoint != null) {
      Await.result(endpoint.close());
    }
    Await.result(vertx.close());
  }
}
