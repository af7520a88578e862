package io.qmpsidecar.qmp;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a QMP monitor listens: a Unix socket path or a TCP host and port. Written as QEMU writes
 * its {@code -qmp} option: {@code unix:/run/qemu/vm1.qmp} or {@code tcp:127.0.0.1:4444}.
 */
public record QmpAddress(Path unixPath, String host, int port) {

  public QmpAddress {
    if (unixPath == null) {
      Objects.requireNonNull(host, "host");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("TCP port must be 1-65535, got " + port);
      }
    } else if (host != null) {
      throw new IllegalArgumentException("a QMP address is either a Unix path or a TCP host, not both");
    }
  }

  public static QmpAddress unix(Path path) {
    return new QmpAddress(Objects.requireNonNull(path, "path"), null, 0);
  }

  public static QmpAddress tcp(String host, int port) {
    return new QmpAddress(null, host, port);
  }

  /**
   * Parses {@code unix:PATH}, {@code tcp:HOST:PORT} or a bare path.
   *
   * @throws IllegalArgumentException naming what is wrong with the text
   */
  public static QmpAddress parse(String text) {
    Objects.requireNonNull(text, "text");
    if (text.startsWith("unix:")) {
      return unix(Path.of(text.substring(5)));
    }
    if (text.startsWith("tcp:")) {
      String rest = text.substring(4);
      int colon = rest.lastIndexOf(':');
      if (colon <= 0 || colon == rest.length() - 1) {
        throw new IllegalArgumentException("QMP address '" + text + "' needs tcp:HOST:PORT");
      }
      String host = rest.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      try {
        return tcp(host, Integer.parseInt(rest.substring(colon + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("QMP address '" + text + "' has a port that is not a number");
      }
    }
    if (text.contains(":")) {
      throw new IllegalArgumentException(
          "QMP address '" + text + "' must be unix:PATH or tcp:HOST:PORT");
    }
    return unix(Path.of(text));
  }

  public boolean isUnix() {
    return unixPath != null;
  }

  @Override
  public String toString() {
    return isUnix() ? "unix:" + unixPath : "tcp:" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
