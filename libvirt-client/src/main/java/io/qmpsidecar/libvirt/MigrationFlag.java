package io.qmpsidecar.libvirt;

/** The {@code virDomainMigrateFlags} the client passes on, with libvirt's values. */
public enum MigrationFlag {
  LIVE(1), PEER2PEER(2), TUNNELLED(4), PERSIST_DEST(8), UNDEFINE_SOURCE(16), PAUSED(32),
  ABORT_ON_ERROR(4096), AUTO_CONVERGE(8192);

  private final int value;

  MigrationFlag(int value) {
    this.value = value;
  }

  public int value() {
    return value;
  }
}
