package io.qmpsidecar.sidecar.cli;

import java.util.Optional;
import javax.net.ssl.SSLException;

/** What to do when an https:// API could not be reached because of TLS, from the failure's causes. */
final class TlsFailure {
  private TlsFailure() {}

  /**
   * The fix for a TLS failure of a connection to {@code host}, or empty when {@code failure} is
   * not one.
   */
  static Optional<String> hint(Throwable failure, String host) {
    // The first cause is often only "Failed to create SSL connection": the reason is deeper.
    boolean tls = false;
    StringBuilder chain = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      tls |= t instanceof SSLException;
      chain.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append('\n');
    }
    String text = chain.toString();
    if (text.contains("NotSslRecordException")) {
      return Optional.of("the API does not speak TLS there: use http:// for an api.tcp without api.tls");
    }
    if (text.contains("No subject alternative") || text.contains("No name matching")) {
      return Optional.of("the API's certificate is not issued for " + host + ": name the API in --api as its"
          + " certificate does (a DNS name or IP address of its subjectAltName)");
    }
    if (text.contains("PKIX path") || text.contains("unable to find valid certification path")) {
      return Optional.of("the API's certificate is not trusted: give the CA that signed it (the certificate itself"
          + " when self-signed) with --api-ca FILE or QMP_SIDECAR_API_CA, or add it to the JVM's trust store");
    }
    return tls ? Optional.of("the TLS handshake failed; check --api-ca (or QMP_SIDECAR_API_CA) and that --api"
        + " names the API's api.tcp with https://") : Optional.empty();
  }
}
