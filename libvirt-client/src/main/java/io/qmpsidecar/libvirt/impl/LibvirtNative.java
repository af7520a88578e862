package io.qmpsidecar.libvirt.impl;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The few libvirt C functions that libvirt-java 0.5.3 does not declare: alias detach,
 * migrateToURI3, job statistics, domain messages (taint), the event IDs it has no listener for,
 * and QEMU monitor events from libvirt-qemu. Pointers are raw; callers free what they look up.
 */
public final class LibvirtNative {
  /** {@code VIR_DOMAIN_AFFECT_LIVE}. */
  public static final int AFFECT_LIVE = 1;

  /** {@code virDomainEventID} values the client registers. */
  public static final int EVENT_LIFECYCLE = 0;
  public static final int EVENT_DEVICE_REMOVED = 15;
  public static final int EVENT_DEVICE_ADDED = 19;
  public static final int EVENT_MIGRATION_ITERATION = 20;
  public static final int EVENT_JOB_COMPLETED = 21;
  public static final int EVENT_DEVICE_REMOVAL_FAILED = 22;

  /** {@code VIR_DOMAIN_JOB_STATS_COMPLETED}. */
  public static final int JOB_STATS_COMPLETED = 1;

  private LibvirtNative() {}

  /** Declarations from libvirt.so. */
  public interface Virt extends Library {
    Virt INSTANCE = Native.load("virt", Virt.class);

    Pointer virDomainLookupByUUIDString(Pointer conn, String uuid);

    int virDomainFree(Pointer dom);

    String virDomainGetName(Pointer dom);

    int virDomainGetUUIDString(Pointer dom, byte[] buf);

    int virDomainDetachDeviceAlias(Pointer dom, String alias, int flags);

    int virDomainMigrateToURI3(Pointer dom, String dconnuri, Pointer params, int nparams, int flags);

    Pointer virDomainMigrate3(Pointer dom, Pointer dconn, Pointer params, int nparams, int flags);

    int virDomainGetJobStats(Pointer dom, IntByReference type, PointerByReference params,
        IntByReference nparams, int flags);

    void virTypedParamsFree(Pointer params, int nparams);

    int virDomainGetMessages(Pointer dom, PointerByReference msgs, int flags);

    int virConnectDomainEventRegisterAny(Pointer conn, Pointer dom, int eventId, Callback cb,
        Pointer opaque, Pointer freecb);

    int virConnectDomainEventDeregisterAny(Pointer conn, int callbackId);

    int virGetLastErrorCode();

    String virGetLastErrorMessage();

    void virResetLastError();
  }

  /** Declarations from libvirt-qemu.so. */
  public interface VirtQemu extends Library {
    VirtQemu INSTANCE = Native.load("virt-qemu", VirtQemu.class);

    int virConnectDomainQemuMonitorEventRegister(Pointer conn, Pointer dom, String event,
        QemuMonitorEventCallback cb, Pointer opaque, Pointer freecb, int flags);

    int virConnectDomainQemuMonitorEventDeregister(Pointer conn, int callbackId);
  }

  /** {@code virConnectDomainEventCallback} for LIFECYCLE. */
  public interface LifecycleCallback extends Callback {
    int invoke(Pointer conn, Pointer dom, int event, int detail, Pointer opaque);
  }

  /** The callback shape of DEVICE_REMOVED, DEVICE_ADDED and DEVICE_REMOVAL_FAILED. */
  public interface DeviceAliasCallback extends Callback {
    void invoke(Pointer conn, Pointer dom, String alias, Pointer opaque);
  }

  /** MIGRATION_ITERATION. */
  public interface MigrationIterationCallback extends Callback {
    void invoke(Pointer conn, Pointer dom, int iteration, Pointer opaque);
  }

  /** JOB_COMPLETED; {@code params} belong to libvirt. */
  public interface JobCompletedCallback extends Callback {
    void invoke(Pointer conn, Pointer dom, Pointer params, int nparams, Pointer opaque);
  }

  /** {@code virConnectDomainQemuMonitorEventCallback}. */
  public interface QemuMonitorEventCallback extends Callback {
    void invoke(Pointer conn, Pointer dom, String event, long seconds, int micros, String details,
        Pointer opaque);
  }
}
