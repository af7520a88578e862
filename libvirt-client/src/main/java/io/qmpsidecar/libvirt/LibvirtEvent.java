package io.qmpsidecar.libvirt;

/**
 * What a {@link LibvirtClient} reports to its listeners: libvirt's domain events and the
 * client's own connection changes. Listeners run on libvirt's event-loop thread (Reconnected on
 * the client's connect thread) and must not block: hand the event to your own executor or
 * Vert.x context.
 */
public sealed interface LibvirtEvent {

  /** libvirt's {@code virDomainEventType}, in libvirt's order. */
  enum LifecycleType {
    DEFINED, UNDEFINED, STARTED, SUSPENDED, RESUMED, STOPPED, SHUTDOWN, PMSUSPENDED, CRASHED, UNKNOWN;

    public static LifecycleType of(int value) {
      LifecycleType[] all = values();
      return value >= 0 && value < all.length - 1 ? all[value] : UNKNOWN;
    }
  }

  /** A domain event: every one names its domain. */
  sealed interface OfDomain extends LibvirtEvent {
    DomainRef domain();
  }

  /**
   * {@code VIR_DOMAIN_EVENT_ID_LIFECYCLE}; {@code detail} is libvirt's detail number for the
   * type (for SUSPENDED, RESUMED, STARTED: 1 is "migrated"; for STOPPED: 3 is "migrated").
   */
  record Lifecycle(DomainRef domain, LifecycleType type, int detail) implements OfDomain {
    /** True when libvirt says the change comes from a migration. */
    public boolean migrated() {
      return switch (type) {
        case SUSPENDED, RESUMED, STARTED -> detail == 1;
        case STOPPED -> detail == 3;
        default -> false;
      };
    }
  }

  /** {@code VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED}: the guest released the device; it is gone. */
  record DeviceRemoved(DomainRef domain, String alias) implements OfDomain {}

  /** {@code VIR_DOMAIN_EVENT_ID_DEVICE_ADDED}. */
  record DeviceAdded(DomainRef domain, String alias) implements OfDomain {}

  /** {@code VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED}: the guest refused the removal. */
  record DeviceRemovalFailed(DomainRef domain, String alias) implements OfDomain {}

  /** {@code VIR_DOMAIN_EVENT_ID_JOB_COMPLETED}, with the finished job's statistics. */
  record JobCompleted(DomainRef domain, JobInfo job) implements OfDomain {}

  /** {@code VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION}: a new pass over guest memory began. */
  record MigrationIteration(DomainRef domain, int iteration) implements OfDomain {}

  /**
   * A raw QMP event from {@code virConnectDomainQemuMonitorEventRegister} (only when the
   * client's options ask for them). {@code data} is the event's JSON {@code data} as text, or
   * empty when the event had none.
   */
  record QemuMonitorEvent(DomainRef domain, String event, long seconds, int micros, String data)
      implements OfDomain {}

  /**
   * The connection to libvirtd closed ({@code reason}: libvirt's {@code EOF}, {@code ERROR},
   * {@code KEEPALIVE}...). The client reconnects on its own; calls fail with
   * {@link LibvirtUnavailableException} until {@link Reconnected}.
   */
  record ConnectionLost(String uri, String reason) implements LibvirtEvent {}

  /**
   * The client is connected again and its event registrations are back. Events that happened
   * while it was away are lost: reconcile from the live XML and job state.
   */
  record Reconnected(String uri, int attempts) implements LibvirtEvent {}

}
