package io.qmpsidecar.libvirt;

import java.util.Objects;

/**
 * A libvirt domain as the client names it. Calls find the domain by {@code uuid}, which stays
 * the same across libvirtd restarts and migrations; {@code name} is for messages.
 */
public record DomainRef(String name, String uuid) {
  public DomainRef {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(uuid, "uuid");
  }

  @Override
  public String toString() {
    return name + " (" + uuid + ")";
  }
}
