package io.qmpsidecar.bench;

import io.qmpsidecar.relay.RelayTls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A CA, a DPU server certificate and a host client certificate, made with openssl. */
final class BenchCerts {
  final RelayTls dpu;
  final RelayTls host;

  private BenchCerts(RelayTls dpu, RelayTls host) {
    this.dpu = dpu;
    this.host = host;
  }

  static BenchCerts make(Path dir) throws IOException, InterruptedException {
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench-ca");
    for (String cn : new String[] {"dpu", "bench-host"}) {
      openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", cn + ".key", "-out", cn + ".csr", "-subj", "/CN=" + cn);
      openssl(dir, "x509", "-req", "-in", cn + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", cn + ".pem", "-days", "1", "-extfile", "san.ext");
    }
    return new BenchCerts(new RelayTls(dir.resolve("dpu.pem"), dir.resolve("dpu.key"), dir.resolve("ca.pem")),
        new RelayTls(dir.resolve("bench-host.pem"), dir.resolve("bench-host.key"), dir.resolve("ca.pem")));
  }

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 1];
    command[0] = "openssl";
    System.arraycopy(args, 0, command, 1, args.length);
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("openssl.log").toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("openssl " + String.join(" ", args) + " failed; see " + dir.resolve("openssl.log")
          + " (the benchmark needs openssl on the PATH for its TLS certificates)");
    }
  }
}
