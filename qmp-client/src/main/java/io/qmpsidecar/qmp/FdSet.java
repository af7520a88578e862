package io.qmpsidecar.qmp;

import java.util.List;

/** One fd set of {@code query-fdsets}: its id and the descriptors QEMU holds in it. */
public record FdSet(int id, List<Member> fds) {
  public FdSet {
    fds = List.copyOf(fds);
  }

  /** A descriptor in the set: its number inside QEMU and the {@code opaque} text given with it, or null. */
  public record Member(int fd, String opaque) {}
}
