package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.hostprep.SysfsWriter;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachResult;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.hotplug.ReleaseGate;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.testing.OperationsRig;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The sidecar (state store, event stream, host prep, operations) over the lab's L2 QEMUs. Host
 * prep reads a mirror of L1's sysfs ({@link VfioLab#mirror}); L1's init already bound the
 * functions, so attaches pass {@code hostDriver} null and host prep only checks. The mirror
 * refuses writes.
 *
 * <p>The L2s have no guest OS to acknowledge an unplug: for the VMs marked with
 * {@link #ejectOnDetach}, the lab does what a guest's ACPI hotplug code would once QEMU accepted
 * the {@code device_del} ({@code detach.unplug-requested}; {@link GuestIo#acpiEject}). Not
 * {@code system_reset}, which also completes a pending removal: QEMU 10.0 and 11.1 abort now and
 * then when that removal takes a VM's last VFIO device in the middle of the reset (docs/lab.md).
 */
final class LabSidecar implements AutoCloseable {
  static final Duration ATTACH_WAIT = Duration.ofSeconds(60);
  private static final Duration FIRMWARE_WAIT = Duration.ofSeconds(60);
  /** How long a step waits for the sidecar to reconnect to an L2 whose connection dropped. */
  private static final Duration RECONNECT_WAIT = Duration.ofSeconds(30);
  /** The guest's time to react to QEMU's unplug request before it ejects the device. */
  private static final long EJECT_DELAY_MS = 300;
  private static final SysfsWriter READ_ONLY = (file, value) -> {
    throw new IOException("the lab's functions live in L1, whose init binds them; the host's mirror"
        + " of L1's sysfs is read-only (attach with hostDriver null)");
  };

  final Vertx vertx;
  final VfioLab lab;
  final SysfsTree mirror;
  final EventStream events;
  final List<SidecarEvent> seen;
  final Operations ops;
  private final OperationsRig rig;
  private final Set<String> ejecting = ConcurrentHashMap.newKeySet();

  LabSidecar(Vertx vertx, VfioLab lab, Path dir, String... l2s) {
    this(vertx, lab, dir, ValueSets.EMPTY, l2s);
  }

  /**
   * With the default preset deciding with {@code valueSets} (the configuration's
   * {@code hotplug.*} sets), for tests whose API callers attach.
   */
  LabSidecar(Vertx vertx, VfioLab lab, Path dir, ValueSets valueSets, String... l2s) {
    this.vertx = vertx;
    this.lab = lab;
    this.mirror = lab.mirror(dir.resolve("l1-mirror"));
    Map<String, QmpAddress> addresses = new LinkedHashMap<>();
    for (String l2 : l2s) {
      addresses.put(l2, lab.qmp(l2));
    }
    this.rig = new OperationsRig(vertx, addresses, new SysfsHostPrep(vertx, mirror.sys(), mirror.dev(), READ_ONLY),
        HotplugOptions.defaults(), dir.resolve(StateStore.FILE_NAME), Policies.preset("default"), valueSets, 4)
        .releasesWatchedBy(inL1(lab.l1(), mirror.dev()));
    this.events = rig.events;
    this.seen = rig.seen;
    this.ops = rig.ops();
    events.subscribe(e -> e.type().equals(EventTypes.DETACH_UNPLUG_REQUESTED) && ejecting.contains(e.vm()), 16,
        e -> vertx.setTimer(EJECT_DELAY_MS, t -> handle(e.vm()).ready()
            .compose(conn -> vertx.executeBlocking(() -> {
              new GuestIo(conn).acpiEject(e.text("id"));
              return null;
            }))
            .onFailure(err -> System.out.printf("lab: the ACPI eject of %s on %s failed: %s%n", e.text("id"), e.vm(),
                err.getMessage()))));
  }

  /**
   * Where the release of a removed function is watched: the L2 QEMUs are processes of L1, found
   * as the daemon finds a QEMU, by the monitor socket they listen on (every L2 has
   * {@code /run/lab/NAME/qmp}; after a live update it is the new QEMU's), their descriptors in
   * L1's {@code /proc/PID/fd}, and the mirror's {@code dev} stands for L1's {@code /dev}.
   */
  private static ReleaseGate.Processes inL1(L1Shell l1, Path mirrorDev) {
    return new ReleaseGate.Processes() {
      @Override
      public long pid(String vm) throws ReleaseGate.Unknown {
        String monitor = "/run/lab/" + vm + "/qmp";
        try {
          return l1.listener(monitor).orElseThrow(() -> new ReleaseGate.Unknown("no process in L1 listens on " + monitor));
        } catch (AssertionError e) {
          throw new ReleaseGate.Unknown("cannot read L1's /proc: " + e.getMessage());
        }
      }

      @Override
      public List<Path> holding(long pid, List<Path> nodes) throws IOException {
        List<String> held;
        try {
          held = l1.fdTargets(pid);
        } catch (AssertionError e) {
          throw new IOException("reading L1's /proc/" + pid + "/fd failed: " + e.getMessage(), e);
        }
        return nodes.stream().filter(n -> held.contains("/dev/" + mirrorDev.relativize(n))).toList();
      }
    };
  }

  /** The L2's connection now: after a live update, the new QEMU's. */
  QmpConnection conn(String l2) {
    VmHandle handle = handle(l2);
    Future<QmpConnection> now = handle.ready();
    if (now.succeeded()) {
      return now.result();
    }
    // A monitor connection through the lab's forwarding has been seen to drop (on CI, between
    // two steps of a test, its QEMU running on); the sidecar reconnects by itself. Wait for
    // that, bounded, and say so; if it does not, fail with the sidecar's reason and what L1 shows.
    long start = System.nanoTime();
    long deadline = start + RECONNECT_WAIT.toNanos();
    while (!handle.ready().succeeded()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("L2 " + l2 + ": the sidecar did not reconnect to its monitor within " + RECONNECT_WAIT
            + " (" + now.cause().getMessage() + "); in L1: " + lab.l1().exec("kill -0 $(cat /tmp/" + l2 + ".pid)"
            + " && echo 'the QEMU lab/l2 started is alive' || echo 'the QEMU lab/l2 started is gone (a live update"
            + " replaces it)'; ls -l /run/lab/" + l2 + "/; tail -n 20 /tmp/" + l2 + ".log; tail -n 5 /tmp/" + l2
            + ".fwd.log 2>/dev/null").output());
      }
      sleep(100);
    }
    System.out.printf("lab: %s's monitor connection was down (%s); reconnected after %d ms%n", l2,
        now.cause().getMessage(), (System.nanoTime() - start) / 1_000_000);
    return result(handle.ready());
  }

  VmHandle handle(String l2) {
    return rig.handle(l2);
  }

  /** Completes every detach of {@code l2} as the guest OS's ACPI hotplug code would. */
  LabSidecar ejectOnDetach(String l2) {
    ejecting.add(l2);
    return this;
  }

  static AttachRequest vfio(String vm, FunctionRef function, String id, String rootPort) {
    return new AttachRequest(vm, "vfio-pci", function, null, id, rootPort, null, "op-" + id);
  }

  Attachment attach(AttachRequest request) {
    conn(request.vm());
    return result(ops.attach(Caller.cli(), request), ATTACH_WAIT);
  }

  Future<Attachment> tryAttach(AttachRequest request) {
    return ops.attach(Caller.cli(), request);
  }

  DetachResult detach(String vm, String id) {
    conn(vm);
    return result(ops.detach(Caller.cli(), new DetachRequest(vm, id, false, "op-del-" + id)), ATTACH_WAIT);
  }

  /**
   * Waits until SeaBIOS numbered every root port's secondary bus (after L2's start),
   * so that query-pci lists hot-plugged devices.
   */
  LabSidecar awaitFirmware(String vm) {
    long deadline = System.nanoTime() + FIRMWARE_WAIT.toNanos();
    while (!result(conn(vm).queryPci()).stream().filter(PciDevice::isBridge)
        .allMatch(d -> d.secondaryBus() > 0)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("L2 " + vm + ": the firmware did not number the root ports' buses within "
            + FIRMWARE_WAIT + "; see /tmp/" + vm + ".log in L1 (lab/start --shell)");
      }
      sleep(100);
    }
    return this;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  boolean realized(String vm, String id) {
    return result(conn(vm).qomList("/machine/peripheral")).stream().anyMatch(p -> p.name().equals(id))
        && result(conn(vm).qomGet("/machine/peripheral/" + id, "realized")).asBoolean();
  }

  /** The event of {@code type} for device {@code id}, waiting until it was published. */
  SidecarEvent event(String type, String id) {
    Await.until(type + " for " + id, () -> seen.stream()
        .anyMatch(e -> e.type().equals(type) && id.equals(e.text("id"))));
    return seen.stream().filter(e -> e.type().equals(type) && id.equals(e.text("id")))
        .reduce((a, b) -> b).orElseThrow();
  }

  /** Time from host prep done to QEMU's answer of device_add, for the last attach of {@code id}. */
  Duration deviceAddTime(String id) {
    return Duration.between(event(EventTypes.ATTACH_HOST_PREPARED, id).time(),
        event(EventTypes.ATTACH_ADDED, id).time());
  }

  /** Detaches whatever the sidecar still holds on {@code vm}, so the next test starts clean. */
  void detachAll(String vm) {
    conn(vm);
    for (Attachment a : result(ops.attachments(Caller.cli(), vm))) {
      detach(vm, a.id());
    }
  }

  @Override
  public void close() {
    rig.close();
  }
}
