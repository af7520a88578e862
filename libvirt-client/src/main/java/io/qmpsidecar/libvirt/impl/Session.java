package io.qmpsidecar.libvirt.impl;

import com.sun.jna.Pointer;
import io.qmpsidecar.libvirt.DomainRef;
import io.qmpsidecar.libvirt.JobInfo;
import io.qmpsidecar.libvirt.LibvirtErrorException;
import io.qmpsidecar.libvirt.LibvirtEvent;
import io.qmpsidecar.libvirt.LibvirtEvent.LifecycleType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.libvirt.Connect;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.event.ConnectionCloseListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open connection to libvirtd with the client's event registrations on it. Thread-safe as
 * libvirt's connections are; callbacks run on {@link EventLoop}'s thread.
 */
public final class Session {
  private static final Logger LOG = LoggerFactory.getLogger(Session.class);
  private static final LibvirtNative.Virt VIRT = LibvirtNative.Virt.INSTANCE;

  private final OpenConnect connect;
  private final Consumer<LibvirtEvent> sink;
  private final List<Integer> eventIds = new ArrayList<>();
  private int qemuEventId = -1;

  // JNA callbacks stay strongly reachable as long as libvirt may call them.
  private final LibvirtNative.LifecycleCallback lifecycle = this::onLifecycle;
  private final LibvirtNative.DeviceAliasCallback removed = (c, d, alias, o) ->
      emit(() -> new LibvirtEvent.DeviceRemoved(ref(d), alias));
  private final LibvirtNative.DeviceAliasCallback added = (c, d, alias, o) ->
      emit(() -> new LibvirtEvent.DeviceAdded(ref(d), alias));
  private final LibvirtNative.DeviceAliasCallback removalFailed = (c, d, alias, o) ->
      emit(() -> new LibvirtEvent.DeviceRemovalFailed(ref(d), alias));
  private final LibvirtNative.MigrationIterationCallback iteration = (c, d, n, o) ->
      emit(() -> new LibvirtEvent.MigrationIteration(ref(d), n));
  private final LibvirtNative.JobCompletedCallback jobCompleted = (c, d, params, n, o) ->
      emit(() -> new LibvirtEvent.JobCompleted(ref(d),
          new JobInfo(JobInfo.Type.COMPLETED, TypedParameters.read(params, n))));
  private final LibvirtNative.QemuMonitorEventCallback qemuEvent = (c, d, event, s, us, details, o) ->
      emit(() -> new LibvirtEvent.QemuMonitorEvent(ref(d), event, s, us, details == null ? "" : details));

  private Session(OpenConnect connect, Consumer<LibvirtEvent> sink) {
    this.connect = connect;
    this.sink = sink;
  }

  /**
   * Opens {@code uri}, turns keepalive on, registers the domain events (and raw QMP events when
   * asked) and the close listener. Blocks: call it off any event loop.
   */
  public static Session open(String uri, int keepAliveInterval, int keepAliveCount, boolean qemuEvents,
      Consumer<LibvirtEvent> sink, ConnectionCloseListener onClose) throws LibvirtException {
    EventLoop.ensureStarted();
    OpenConnect connect = new OpenConnect(uri);
    Session s = new Session(connect, sink);
    try {
      connect.setKeepAlive(keepAliveInterval, keepAliveCount);
      connect.registerCloseListener(onClose);
      s.register(LibvirtNative.EVENT_LIFECYCLE, s.lifecycle);
      s.register(LibvirtNative.EVENT_DEVICE_REMOVED, s.removed);
      s.register(LibvirtNative.EVENT_DEVICE_ADDED, s.added);
      s.register(LibvirtNative.EVENT_DEVICE_REMOVAL_FAILED, s.removalFailed);
      s.register(LibvirtNative.EVENT_MIGRATION_ITERATION, s.iteration);
      s.register(LibvirtNative.EVENT_JOB_COMPLETED, s.jobCompleted);
      if (qemuEvents) {
        int id = LibvirtNative.VirtQemu.INSTANCE.virConnectDomainQemuMonitorEventRegister(
            connect.pointer(), null, null, s.qemuEvent, null, null, 0);
        if (id < 0) {
          throw lastError("register QEMU monitor events");
        }
        s.qemuEventId = id;
      }
      return s;
    } catch (LibvirtException | RuntimeException e) {
      s.closeQuietly();
      throw e;
    }
  }

  private void register(int eventId, com.sun.jna.Callback cb) {
    int id = VIRT.virConnectDomainEventRegisterAny(connect.pointer(), null, eventId, cb, null, null);
    if (id < 0) {
      throw lastError("register domain event " + eventId);
    }
    eventIds.add(id);
  }

  public Connect connect() {
    return connect;
  }

  public Pointer pointer() {
    return connect.pointer();
  }

  /** Work on a raw domain pointer looked up by UUID; the pointer is freed afterwards. */
  public <T> T withDomain(String operation, DomainRef domain, DomainCall<T> work) {
    Pointer dom = VIRT.virDomainLookupByUUIDString(pointer(), domain.uuid());
    if (dom == null) {
      throw lastError(operation);
    }
    try {
      return work.apply(dom);
    } finally {
      VIRT.virDomainFree(dom);
    }
  }

  /** Work on a raw domain pointer. */
  @FunctionalInterface
  public interface DomainCall<T> {
    T apply(Pointer dom);
  }

  /** The domain a raw pointer names (both values are local to the pointer: no RPC). */
  public static DomainRef ref(Pointer dom) {
    byte[] buf = new byte[37];
    VIRT.virDomainGetUUIDString(dom, buf);
    String uuid = new String(buf, 0, 36, StandardCharsets.US_ASCII);
    String name = VIRT.virDomainGetName(dom);
    return new DomainRef(name == null ? uuid : name, uuid);
  }

  /** libvirt's last error on this thread, as the client's exception. */
  public static LibvirtErrorException lastError(String operation) {
    int code = VIRT.virGetLastErrorCode();
    String message = VIRT.virGetLastErrorMessage();
    VIRT.virResetLastError();
    return new LibvirtErrorException(operation, code, codeName(code), message == null ? "unknown error" : message);
  }

  /** A binding exception as the client's exception. */
  public static LibvirtErrorException translate(String operation, LibvirtException e) {
    org.libvirt.Error err = e.getError();
    if (err == null || err.getCode() == null) {
      return new LibvirtErrorException(operation, -1, "UNKNOWN", String.valueOf(e.getMessage()));
    }
    return new LibvirtErrorException(operation, err.getCode().ordinal(), err.getCode().name(),
        err.getMessage() == null ? String.valueOf(e.getMessage()) : err.getMessage());
  }

  static String codeName(int code) {
    ErrorNumber[] all = ErrorNumber.values();
    return code >= 0 && code < all.length ? all[code].name() : "VIR_ERR_" + code;
  }

  private int onLifecycle(Pointer c, Pointer d, int event, int detail, Pointer o) {
    emit(() -> new LibvirtEvent.Lifecycle(ref(d), LifecycleType.of(event), detail));
    return 0;
  }

  private void emit(java.util.function.Supplier<LibvirtEvent> event) {
    try {
      sink.accept(event.get());
    } catch (RuntimeException e) {
      LOG.warn("a libvirt event listener threw; the event is dropped for it", e);
    }
  }

  /** Deregisters what it can and closes the connection; errors are logged (the peer may be gone). */
  public void closeQuietly() {
    for (int id : eventIds) {
      VIRT.virConnectDomainEventDeregisterAny(pointer(), id);
    }
    eventIds.clear();
    if (qemuEventId >= 0) {
      LibvirtNative.VirtQemu.INSTANCE.virConnectDomainQemuMonitorEventDeregister(pointer(), qemuEventId);
      qemuEventId = -1;
    }
    VIRT.virResetLastError();
    try {
      connect.unregisterCloseListener();
    } catch (LibvirtException e) {
      LOG.debug("unregistering the close listener failed: {}", e.getMessage());
    }
    try {
      connect.close();
    } catch (LibvirtException e) {
      LOG.debug("closing the libvirt connection failed: {}", e.getMessage());
    }
  }

  /** libvirt-java's connection with its native pointer in reach. */
  static final class OpenConnect extends Connect {
    OpenConnect(String uri) throws LibvirtException {
      super(uri, false);
    }

    Pointer pointer() {
      return vcp.getPointer();
    }
  }
}
