package io.qmpsidecar.relay;

import java.nio.file.Path;
import java.util.Objects;

/**
 * PEM files for mutual TLS: this end's certificate and key, and the CA that signs the peer's.
 *
 * @param certificate this end's certificate chain (PEM)
 * @param privateKey this end's private key (PEM, PKCS#8)
 * @param trustedCa the CA certificate(s) the peer's certificate must chain to (PEM)
 */
public record RelayTls(Path certificate, Path privateKey, Path trustedCa) {

  public RelayTls {
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(trustedCa, "trustedCa");
  }
}
