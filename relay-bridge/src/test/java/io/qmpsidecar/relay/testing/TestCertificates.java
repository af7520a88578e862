package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.RelayTls;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes a CA and certificates for loopback TLS at test time (EC P-256, PEM files): a DPU server
 * certificate for 127.0.0.1/localhost, host client certificates, and the bad ones the tests refuse
 * (another CA's, expired, self-signed). Shipped in relay-bridge's test-jar for the sidecar's demo
 * and tests, so Bouncy Castle never reaches a production classpath.
 */
public final class TestCertificates {

  private static final GeneralName[] LOOPBACK_NAMES = {
      new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")};
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  private final Path dir;
  private final String name;
  private final KeyPair caKeys;
  private final X509CertificateHolder caCert;

  private TestCertificates(Path dir, String name, KeyPair caKeys, X509CertificateHolder caCert) {
    this.dir = dir;
    this.name = name;
    this.caKeys = caKeys;
    this.caCert = caCert;
  }

  /** A new CA named {@code name}; its files go to {@code dir}. */
  public static TestCertificates newCa(Path dir, String name) {
    KeyPair keys = keyPair();
    X500Name subject = new X500Name("CN=" + name);
    X509CertificateHolder cert = build(subject, subject, keys, keys.getPrivate(), Instant.now().minusSeconds(60),
        Duration.ofDays(2), true, null);
    TestCertificates ca = new TestCertificates(dir, name, keys, cert);
    write(ca.caPath(), pem(cert));
    return ca;
  }

  /** The CA certificate (PEM) that peers trust. */
  public Path caPath() {
    return dir.resolve(name + "-ca.pem");
  }

  /** TLS files for the DPU end: a server certificate valid for 127.0.0.1 and localhost. */
  public RelayTls server(String cn) {
    return issue(cn, Instant.now().minusSeconds(60), Duration.ofDays(1), true);
  }

  /** A server certificate that expired yesterday. */
  public RelayTls expiredServer(String cn) {
    return issue(cn, Instant.now().minus(Duration.ofDays(3)), Duration.ofDays(2), true);
  }

  /** A server certificate valid only for the DNS name {@code dnsName} (not 127.0.0.1). */
  public RelayTls serverNamed(String cn, String dnsName) {
    KeyPair keys = keyPair();
    X509CertificateHolder cert = build(caCert.getSubject(), new X500Name("CN=" + cn), keys, caKeys.getPrivate(),
        Instant.now().minusSeconds(60), Duration.ofDays(1), false, new GeneralName[] {
            new GeneralName(GeneralName.dNSName, dnsName)});
    return files(cn + "-" + name + "-" + SERIAL.incrementAndGet(), cert, keys.getPrivate());
  }

  /** TLS files for a host: a client certificate whose CN is the host id. */
  public RelayTls client(String cn) {
    return issue(cn, Instant.now().minusSeconds(60), Duration.ofDays(1), false);
  }

  /** A client certificate that expired yesterday. */
  public RelayTls expiredClient(String cn) {
    return issue(cn, Instant.now().minus(Duration.ofDays(3)), Duration.ofDays(2), false);
  }

  /** A self-signed client certificate, trusting this CA for the server. */
  public RelayTls selfSignedClient(String cn) {
    KeyPair keys = keyPair();
    X500Name subject = new X500Name("CN=" + cn);
    X509CertificateHolder cert = build(subject, subject, keys, keys.getPrivate(), Instant.now().minusSeconds(60),
        Duration.ofDays(1), false, null);
    return files(cn + "-self", cert, keys.getPrivate());
  }

  /** The same key and certificate files, but trusting another CA (to test a client's view). */
  public RelayTls trusting(RelayTls tls, TestCertificates otherCa) {
    return new RelayTls(tls.certificate(), tls.privateKey(), otherCa.caPath());
  }

  private RelayTls issue(String cn, Instant notBefore, Duration validity, boolean server) {
    KeyPair keys = keyPair();
    X509CertificateHolder cert = build(caCert.getSubject(), new X500Name("CN=" + cn), keys, caKeys.getPrivate(),
        notBefore, validity, false, server ? LOOPBACK_NAMES : null);
    return files(cn + "-" + name + "-" + SERIAL.incrementAndGet(), cert, keys.getPrivate());
  }

  private RelayTls files(String base, X509CertificateHolder cert, PrivateKey key) {
    Path certPath = dir.resolve(base + ".pem");
    Path keyPath = dir.resolve(base + "-key.pem");
    write(certPath, pem(cert));
    try {
      write(keyPath, pem(new JcaPKCS8Generator(key, null).generate()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new RelayTls(certPath, keyPath, caPath());
  }

  private static X509CertificateHolder build(X500Name issuer, X500Name subject, KeyPair keys, PrivateKey signer,
      Instant notBefore, Duration validity, boolean ca, GeneralName[] serverNames) {
    try {
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer,
          BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(notBefore), Date.from(notBefore.plus(validity)),
          subject, keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      if (ca) {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      }
      if (serverNames != null) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(serverNames));
      }
      ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").build(signer);
      X509CertificateHolder holder = b.build(s);
      new JcaX509CertificateConverter().getCertificate(holder);
      return holder;
    } catch (IOException | OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("could not build a test certificate for " + subject, e);
    }
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot make EC P-256 keys", e);
    }
  }

  private static String pem(Object o) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  private static void write(Path path, String text) {
    try {
      Files.writeString(path, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
