package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The CLI against a real daemon whose api.tcp serves TLS with a self-signed certificate: trusted
 * through --api-ca or QMP_SIDECAR_API_CA (with QMP_SIDECAR_API naming the API), refused with the
 * fix named when the CA is another one, when none is given (the JVM's trusted CAs do not hold a
 * self-signed certificate) and when the certificate names another host.
 */
class ApiTlsCommandIT {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  /** A self-signed certificate and its key, for {@code names} (subjectAltName entries). */
  private static Path selfSigned(String file, String names) throws Exception {
    Path cert = harness.dir().resolve(file + ".pem");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=qmp-sidecar-test", "-addext", "subjectAltName=" + names,
        "-keyout", harness.dir().resolve(file + ".key").toString(), "-out", cert.toString())
        .redirectErrorStream(true).start();
    String said = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(openssl.waitFor(60, TimeUnit.SECONDS) && openssl.exitValue() == 0).as("openssl: %s", said).isTrue();
    return cert;
  }

  private static String start(QemuBinary binary, Path cert) throws Exception {
    Path tokens = Files.writeString(harness.dir().resolve("tokens"), "ci:" + TOKEN + "\n");
    String key = cert.toString().replaceAll("\\.pem$", ".key");
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), """
        version: 1
        name: tls
        rules:
          - {id: ci, effect: allow, callers: ["api:ci"], commands: ["query-*"], reason: the test}
        default: {effect: deny, reason: not the test}
        """);
    Sidecar sidecar = harness.startReady(harness.config().vm("vm1", harness.qemu(binary, "vm1", 1))
        .policyFile(policy).apiTcp("127.0.0.1:0", tokens).set("api.tls.cert", cert.toString()).set("api.tls.key", key));
    return "https://127.0.0.1:" + sidecar.api().tcpPort();
  }

  private static Path tokenFile() throws Exception {
    return Files.writeString(harness.dir().resolve("token"), TOKEN + "\n");
  }

  @QemuTest
  void httpsWithTheApisCaWorksAndAnotherCaIsRefusedNamingTheFix(QemuBinary binary) throws Exception {
    Path cert = selfSigned("api", "IP:127.0.0.1,DNS:localhost");
    String api = start(binary, cert);
    String token = tokenFile().toString();

    Run trusted = CliRunner.run("vms", "--api", api, "--api-ca", cert.toString(), "--token-file", token);
    assertThat(trusted.exit()).as(trusted.err()).isZero();
    assertThat(trusted.out()).contains("vm1").contains("ready");

    Run other = CliRunner.run("vms", "--api", api, "--api-ca", selfSigned("other", "IP:127.0.0.1").toString(),
        "--token-file", token);
    assertThat(other.exit()).isEqualTo(4);
    assertThat(other.err()).startsWith("cannot reach the sidecar API at " + api)
        .contains("the API's certificate is not trusted: give the CA that signed it",
            "--api-ca FILE or QMP_SIDECAR_API_CA");

    Run jvmTrust = CliRunner.run("vms", "--api", api, "--token-file", token);
    assertThat(jvmTrust.exit()).as("the JVM's CAs do not trust a self-signed certificate").isEqualTo(4);
    assertThat(jvmTrust.err()).contains("the API's certificate is not trusted");

    Run missing = CliRunner.run("vms", "--api", api, "--api-ca", harness.dir().resolve("nope.pem").toString());
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err()).contains("--api-ca " + harness.dir().resolve("nope.pem") + ": cannot read it");
  }

  @QemuTest
  void theEnvironmentNamesTheApiAndItsCa(QemuBinary binary) throws Exception {
    Path cert = selfSigned("api", "IP:127.0.0.1");
    String api = start(binary, cert);
    ProcessBuilder cli = new ProcessBuilder(Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize().toString(),
        "vms", "--token-file", tokenFile().toString()).redirectErrorStream(true);
    cli.environment().putAll(Map.of("QMP_SIDECAR_API", api, "QMP_SIDECAR_API_CA", cert.toString()));
    Process p = cli.start();
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(said).isZero();
    assertThat(said.lines().toList()).hasSize(2).last().asString().startsWith("vm1 ");
  }

  @QemuTest
  void aCertificateForAnotherHostIsRefusedNamingTheFix(QemuBinary binary) throws Exception {
    Path cert = selfSigned("api", "DNS:sidecar.example");
    String api = start(binary, cert);
    Run run = CliRunner.run("vms", "--api", api, "--api-ca", cert.toString(), "--token-file", tokenFile().toString());
    assertThat(run.exit()).isEqualTo(4);
    assertThat(run.err()).contains("the API's certificate is not issued for 127.0.0.1: name the API in --api as its"
        + " certificate does");
    assertThat(run.out()).isEmpty();
  }
}
