package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.RelayTls;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names why a TLS handshake failed (unknown CA, expired, name mismatch, refused by the peer), so
 * that each end's log says what to fix instead of "Failed to create SSL connection".
 */
final class TlsFailures {

  private static final Pattern ALERT = Pattern.compile("Received fatal alert: (\\w+)");

  private TlsFailures() {}

  /**
   * Why the host's dial failed, seen from the host; null when it is not a TLS matter.
   *
   * @param dpu the address dialed, for the name-mismatch message
   */
  static String dialFailure(Throwable e, String dpu) {
    Throwable expired = find(e, CertificateExpiredException.class);
    if (expired != null) {
      return "TLS: the DPU's certificate has expired (" + expired.getMessage() + "); renew the DPU's certificate";
    }
    Throwable early = find(e, CertificateNotYetValidException.class);
    if (early != null) {
      return "TLS: the DPU's certificate is not valid yet (" + early.getMessage() + "); check both clocks";
    }
    if (find(e, CertPathBuilderException.class) != null || text(e).contains("unable to find valid certification path")) {
      return "TLS: the DPU's certificate is not signed by the CA this host trusts (unknown CA); give the host"
          + " the CA that signed the DPU's certificate";
    }
    String all = text(e);
    if (all.contains("No subject alternative") || all.contains("No name matching")) {
      return "TLS: the DPU's certificate does not name " + dpu + " (name mismatch); dial a name its certificate"
          + " holds, or reissue it with " + dpu;
    }
    Matcher alert = ALERT.matcher(all);
    if (alert.find()) {
      return "TLS: the DPU refused this host's certificate (alert " + alert.group(1) + "); the DPU's log names"
          + " the reason (unknown CA, expired)";
    }
    if (all.contains("closed while handshake in process")) {
      return "TLS: the DPU closed the connection during the handshake, which is how it refuses this host's"
          + " certificate (unknown CA, expired, self-signed); the DPU's log names the reason";
    }
    return all.contains("SSL") || all.contains("TLS") || all.contains("handshake") ? "TLS: " + e.getMessage() : null;
  }

  /** Why a host's connection failed, seen from the DPU end. */
  static String acceptFailure(Throwable e) {
    Throwable expired = find(e, CertificateExpiredException.class);
    if (expired != null) {
      return "TLS: refused a host whose certificate has expired (" + expired.getMessage() + "); renew the host's"
          + " certificate";
    }
    Throwable early = find(e, CertificateNotYetValidException.class);
    if (early != null) {
      return "TLS: refused a host whose certificate is not valid yet (" + early.getMessage() + "); check both clocks";
    }
    String all = text(e);
    if (all.contains("Empty client certificate chain") || find(e, CertPathBuilderException.class) != null
        || all.contains("unable to find valid certification path")) {
      return "TLS: refused a host that presented no certificate signed by the CA this DPU trusts (unknown CA,"
          + " self-signed, or none); issue the host's certificate from that CA";
    }
    Matcher alert = ALERT.matcher(all);
    if (alert.find()) {
      return "TLS: a host refused this DPU's certificate (alert " + alert.group(1) + "); the host's log names the"
          + " reason (unknown CA, expired, name mismatch)";
    }
    return "connection from a host failed before the WebSocket opened: " + e.getMessage();
  }

  /**
   * A problem with this end's own certificate file that the peer will refuse (expired, not yet
   * valid), or null. Reads the file: call it off the event loop.
   */
  static String ownCertificateProblem(RelayTls tls) {
    try (InputStream in = Files.newInputStream(tls.certificate())) {
      X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      cert.checkValidity();
      return null;
    } catch (CertificateExpiredException e) {
      return "this end's certificate " + tls.certificate() + " has expired (" + e.getMessage()
          + "); the peer will refuse it: renew it";
    } catch (CertificateNotYetValidException e) {
      return "this end's certificate " + tls.certificate() + " is not valid yet (" + e.getMessage()
          + "); the peer will refuse it: check the clock";
    } catch (IOException | CertificateException | ClassCastException e) {
      return "this end's certificate " + tls.certificate() + " cannot be read (" + e.getMessage()
          + "); give a PEM X.509 certificate";
    }
  }

  private static Throwable find(Throwable e, Class<? extends Throwable> type) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return c;
      }
    }
    return null;
  }

  private static String text(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable c = e; c != null; c = c.getCause()) {
      b.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(" | ");
    }
    return b.toString();
  }
}
