package io.qmpsidecar.qmp;

/** QEMU's version as its greeting and {@code query-version} report it. */
public record QmpVersion(int major, int minor, int micro, String pkg) implements Comparable<QmpVersion> {

  public QmpVersion {
    pkg = pkg == null ? "" : pkg;
  }

  /** True when this version is {@code major.minor} or later. */
  public boolean atLeast(int major, int minor) {
    return this.major > major || (this.major == major && this.minor >= minor);
  }

  @Override
  public int compareTo(QmpVersion o) {
    int c = Integer.compare(major, o.major);
    if (c == 0) {
      c = Integer.compare(minor, o.minor);
    }
    return c != 0 ? c : Integer.compare(micro, o.micro);
  }

  @Override
  public String toString() {
    return major + "." + minor + "." + micro;
  }
}
