package io.qmpsidecar.libvirt;

/** libvirt's {@code virDomainState}, in libvirt's order. */
public enum DomainState {
  NOSTATE, RUNNING, BLOCKED, PAUSED, SHUTDOWN, SHUTOFF, CRASHED, PMSUSPENDED;

  /** The state for libvirt's number; an unknown number (a newer libvirt) is {@link #NOSTATE}. */
  public static DomainState of(int value) {
    DomainState[] all = values();
    return value >= 0 && value < all.length ? all[value] : NOSTATE;
  }
}
