package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Writes sysfs attributes through qmp-sidecar's privileged host-prep helper
 * ({@code /usr/libexec/qmp-sidecar/hostprep}, socket-activated on {@code host.prepHelper}), so the
 * sidecar itself needs no privilege. One connection per write: the request is the attribute's
 * path relative to the sysfs root and the value on one line; the answer is {@code ok} or
 * {@code error: ...}. Blocking, with one deadline for the whole exchange: call it on a worker
 * thread, as {@link SysfsHostPrep} does.
 */
public final class HelperSysfsWriter implements SysfsWriter {
  private final Path socket;
  private final Path sysfsRoot;
  private final Duration timeout;

  /**
   * @param socket the helper's socket ({@code /run/qmp-sidecar-hostprep.sock} under the units)
   * @param sysfsRoot the root the attributes' paths start with
   * @param timeout for connecting, sending and reading the answer together
   */
  public HelperSysfsWriter(Path socket, Path sysfsRoot, Duration timeout) {
    this.socket = Objects.requireNonNull(socket, "socket");
    this.sysfsRoot = Objects.requireNonNull(sysfsRoot, "sysfsRoot");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  @Override
  public void write(Path file, String value) throws IOException {
    Path attribute = sysfsRoot.relativize(file);
    if (attribute.startsWith("..") || attribute.isAbsolute()) {
      throw new IOException(file + " is outside " + sysfsRoot + ", which the helper does not write");
    }
    String answer = HelperConnection.exchange(socket, attribute + " " + value.strip() + "\n", timeout);
    if (!answer.equals("ok")) {
      throw new IOException("the host-prep helper (" + socket + ") answered: " + answer);
    }
  }

  /** The same helper answers whether QEMU still holds a function's VFIO nodes (its request {@code release}). */
  @Override
  public Optional<HelperReleaseCheck> releaseCheck(Path devRoot) {
    return Optional.of(new HelperReleaseCheck(socket, devRoot, timeout));
  }

  @Override
  public String fix() {
    return "follow the helper's answer (its allow file is /etc/qmp-sidecar/hostprep.allow), check"
        + " that it runs (systemctl status qmp-sidecar-hostprep.socket; journalctl -t qmp-sidecar-hostprep) and dmesg";
  }
}
