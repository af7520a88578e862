package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.conformance.Wire;
import io.qmpsidecar.relay.conformance.WireHost;
import io.qmpsidecar.relay.conformance.WireLink;
import io.qmpsidecar.relay.impl.DpuEndpointImpl;
import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.LogCapture;
import io.qmpsidecar.relay.testing.RelayPair;
import io.qmpsidecar.relay.testing.TestCertificates;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS with certificates made at test time: the right host gets in, nobody else does, and
 * each end's log says why it refused the other (unknown CA, expired, name mismatch).
 */
class RelayTlsTest {

  @TempDir static Path certs;
  static TestCertificates ca;
  static TestCertificates otherCa;

  @TempDir Path dir;
  RelayPair pair;
  LogCapture dpuLog;

  @BeforeAll
  static void makeCertificates() {
    ca = TestCertificates.newCa(certs, "relay");
    otherCa = TestCertificates.newCa(certs, "stranger");
  }

  @AfterEach
  void close() {
    if (dpuLog != null) {
      dpuLog.close();
    }
    pair.close();
  }

  private void startDpu(RelayTls tls) {
    dpuLog = LogCapture.of(DpuEndpointImpl.class);
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults().withTls(tls));
  }

  private RelayHostOptions hostWith(RelayTls tls) {
    return pair.hostOptions(dir, pair.dpu.actualPort()).withTls(tls);
  }

  /** Starts a host that must never get in; returns why its attempts failed, as it logs it. */
  private Throwable refused(RelayTls tls) {
    pair.host = Await.result(RelayHost.start(pair.vertx, hostWith(tls), pair.executor, pair.authorizer));
    pair.host.linkStateHandler(pair.states::add);
    Await.until("two refused attempts", () -> pair.states.stream()
        .filter(s -> s.status() == LinkState.Status.DISCONNECTED).count() >= 2);
    assertThat(pair.dpu.connectedHosts()).isEmpty();
    assertThat(pair.executor.calls()).isEmpty();
    return pair.states.stream().filter(s -> s.cause() != null).findFirst().orElseThrow().cause();
  }

  private void awaitDpuLogged(String text) {
    Await.until("the DPU to log '" + text + "' (logged: " + dpuLog.messages() + ")",
        () -> dpuLog.messages().stream().anyMatch(m -> m.contains(text)));
  }

  @Test
  void hostWithTheRightCertificateTalks() {
    startDpu(ca.server("dpu"));
    pair.host(hostWith(ca.client(RelayPair.HOST_ID)));

    long seq = Await.result(pair.host.notify(Notification.vmLifecycle("vm1", "STOP")));
    Map<String, Object> vms = Await.result(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.VM_LIST, Map.of()));

    assertThat(pair.awaitReceived(1).get(0).seq()).isEqualTo(seq);
    assertThat(vms).containsKey("vms");
  }

  @Test
  void certificateFromAnotherCaIsRefusedAndTheDpuSaysUnknownCa() {
    startDpu(ca.server("dpu"));

    Throwable cause = refused(otherCa.trusting(otherCa.client(RelayPair.HOST_ID), ca));

    awaitDpuLogged("unknown CA");
    assertThat(cause).hasMessageContaining("the DPU closed the connection during the handshake");
  }

  @Test
  void expiredCertificateIsRefusedAndTheDpuSaysExpired() {
    startDpu(ca.server("dpu"));

    refused(ca.expiredClient(RelayPair.HOST_ID));

    awaitDpuLogged("refused a host whose certificate has expired");
  }

  @Test
  void selfSignedCertificateIsRefused() {
    startDpu(ca.server("dpu"));

    refused(ca.selfSignedClient(RelayPair.HOST_ID));

    awaitDpuLogged("unknown CA");
  }

  @Test
  void certificateOfAnotherHostCannotSpeakForThisOne() {
    startDpu(ca.server("dpu"));

    Throwable cause = refused(ca.client("host-b"));

    assertThat(cause).hasMessageContaining("does not match the client certificate");
  }

  /** On the wire, what the host above only logs: the error names the DPU's rule and the reason. */
  @Test
  void aHelloForAnotherHostIsAnsweredPolicyDeniedNamingTheRuleAndTheLinkCloses() {
    startDpu(ca.server("dpu"));
    try (WireHost wire = new WireHost(pair.vertx, ca.client("host-b"))) {
      WireLink link = wire.connect(URI.create("wss://127.0.0.1:" + pair.dpu.actualPort() + DpuEndpointOptions.DEFAULT_PATH));

      link.send(Wire.hello(1, RelayPair.HOST_ID, 1, 0).encode());
      JsonObject answer = link.nextMatching("the hello's answer", m -> m.containsKey("error"));
      link.awaitClosed(WireLink.WAIT);

      assertThat(Wire.errorCode(answer)).isEqualTo(-32001);
      JsonObject data = answer.getJsonObject("error").getJsonObject("data");
      assertThat(data.getString("rule")).isEqualTo("requireHostIdMatchesCertificate");
      assertThat(data.getString("reason")).contains(RelayPair.HOST_ID, "host-b");
      assertThat(pair.dpu.connectedHosts()).isEmpty();
    }
  }

  @Test
  void hostRefusesADpuWhoseCertificateItsCaDidNotSignAndSaysUnknownCa() {
    startDpu(ca.server("dpu"));

    Throwable cause = refused(otherCa.trusting(ca.client(RelayPair.HOST_ID), otherCa));

    assertThat(cause).isInstanceOf(RelayConnectionException.class).hasMessageContaining("unknown CA");
    awaitDpuLogged("a host refused this DPU's certificate");
  }

  @Test
  void hostRefusesAnExpiredDpuCertificateAndSaysExpired() {
    startDpu(ca.expiredServer("dpu"));

    Throwable cause = refused(ca.client(RelayPair.HOST_ID));

    assertThat(cause).hasMessageContaining("the DPU's certificate has expired");
    awaitDpuLogged("this end's certificate");
  }

  @Test
  void hostRefusesADpuCertificateForAnotherNameAndSaysNameMismatch() {
    startDpu(ca.serverNamed("dpu", "dpu.example"));

    Throwable cause = refused(ca.client(RelayPair.HOST_ID));

    assertThat(cause).hasMessageContaining("does not name 127.0.0.1 (name mismatch)");
  }

  @Test
  void plainTransportIsRefusedOffLoopback() {
    pair = new RelayPair();

    Throwable host = Await.failure(RelayHost.start(pair.vertx,
        RelayHostOptions.of("192.0.2.10", 7443, "h", dir.resolve("x.db")), pair.executor, pair.authorizer));
    Throwable dpu = Await.failure(DpuEndpoint.listen(pair.vertx,
        DpuEndpointOptions.defaults().withBindHost("0.0.0.0")));

    assertThat(host).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a loopback address");
    assertThat(dpu).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("configure mutual TLS");
  }
}
