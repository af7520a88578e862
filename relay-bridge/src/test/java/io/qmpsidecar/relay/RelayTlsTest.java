package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.RelayPair;
import io.qmpsidecar.relay.testing.TestCertificates;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS with certificates made at test time: the right host gets in, nobody else does. */
class RelayTlsTest {

  @TempDir static Path certs;
  static TestCertificates ca;
  static TestCertificates otherCa;

  @TempDir Path dir;
  RelayPair pair;

  @BeforeAll
  static void makeCertificates() {
    ca = TestCertificates.newCa(certs, "relay");
    otherCa = TestCertificates.newCa(certs, "stranger");
  }

  @BeforeEach
  void startDpu() {
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults().withTls(ca.server("dpu")));
  }

  @AfterEach
  void close() {
    pair.close();
  }

  private RelayHostOptions hostWith(RelayTls tls) {
    return pair.hostOptions(dir, pair.dpu.actualPort()).withTls(tls);
  }

  /** Starts a host that must never get in; returns why its attempts failed. */
  private Throwable refused(RelayTls tls) {
    pair.host = Await.result(RelayHost.start(pair.vertx, hostWith(tls), pair.executor, pair.authorizer));
    pair.host.linkStateHandler(pair.states::add);
    Await.until("two refused attempts", () -> pair.states.stream()
        .filter(s -> s.status() == LinkState.Status.DISCONNECTED).count() >= 2);
    assertThat(pair.dpu.connectedHosts()).isEmpty();
    assertThat(pair.executor.calls()).isEmpty();
    return pair.states.stream().filter(s -> s.cause() != null).findFirst().orElseThrow().cause();
  }

  @Test
  void hostWithTheRightCertificateTalks() {
    pair.host(hostWith(ca.client(RelayPair.HOST_ID)));

    long seq = Await.result(pair.host.notify(Notification.opAccepted("op-1")));
    Map<String, Object> vms = Await.result(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.VM_LIST, Map.of()));

    assertThat(pair.awaitReceived(1).get(0).seq()).isEqualTo(seq);
    assertThat(vms).containsKey("vms");
  }

  @Test
  void certificateFromAnotherCaIsRefused() {
    refused(otherCa.trusting(otherCa.client(RelayPair.HOST_ID), ca));
  }

  @Test
  void expiredCertificateIsRefused() {
    refused(ca.expiredClient(RelayPair.HOST_ID));
  }

  @Test
  void selfSignedCertificateIsRefused() {
    refused(ca.selfSignedClient(RelayPair.HOST_ID));
  }

  @Test
  void certificateOfAnotherHostCannotSpeakForThisOne() {
    Throwable cause = refused(ca.client("host-b"));

    assertThat(cause).hasMessageContaining("does not match the client certificate");
  }

  @Test
  void hostRefusesADpuWhoseCertificateItsCaDidNotSign() {
    Throwable cause = refused(otherCa.trusting(ca.client(RelayPair.HOST_ID), otherCa));

    assertThat(cause).isInstanceOf(RelayConnectionException.class);
  }

  @Test
  void plainTransportIsRefusedOffLoopback() {
    Throwable host = Await.failure(RelayHost.start(pair.vertx,
        RelayHostOptions.of("192.0.2.10", 7443, "h", dir.resolve("x.db")), pair.executor, pair.authorizer));
    Throwable dpu = Await.failure(DpuEndpoint.listen(pair.vertx,
        DpuEndpointOptions.defaults().withBindHost("0.0.0.0")));

    assertThat(host).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a loopback address");
    assertThat(dpu).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("configure mutual TLS");
  }
}
