package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.HelperReleaseCheck;
import io.qmpsidecar.sidecar.hostprep.HostMdev;
import io.qmpsidecar.sidecar.hostprep.QemuProcessLookup;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.state.Attachment;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * "Released" means QEMU has let go of the function. QEMU may send {@code DEVICE_DELETED} before it
 * has closed the function's VFIO descriptors, and binding the host driver back (or letting the DPU
 * reuse the function) while QEMU still holds it has hung hosts. So once a VFIO function or mdev is
 * gone from QEMU, the gate waits until QEMU's process holds none of its device nodes (its group's
 * {@code /dev/vfio/N}, and its cdev {@code /dev/vfio/devices/vfioN} where the kernel has one), read
 * from {@code /proc/PID/fd} every {@link #POLL} (by the privileged host-prep helper where the
 * sidecar may not see or read QEMU's process), bounded by {@link HotplugOptions#releaseWait()};
 * {@code detach.release-waiting} says so once when it takes longer than {@link #NOTICE}. Only then
 * are the host driver restored and {@code device.detached} published. Where the sidecar cannot see
 * QEMU's process (a TCP monitor, a libvirt domain, a process it may not inspect), the result says
 * why and nothing is waited for.
 */
public final class ReleaseGate {
  /** Where QEMU's process is and what it holds open. Blocking: the gate calls it on worker threads. */
  public interface Processes {
    /**
     * The process of the QEMU serving {@code vm}.
     *
     * @throws Unknown saying why it cannot be told
     */
    long pid(String vm) throws Unknown;

    /**
     * Of {@code nodes}, those process {@code pid} holds open now.
     *
     * @throws java.nio.file.AccessDeniedException when this user may not see its descriptors
     */
    List<Path> holding(long pid, List<Path> nodes) throws IOException;

    /**
     * Of {@code nodes}, those process {@code pid} still holds, once it holds none or after at
     * most {@code upTo}; this default looks once, and the gate looks again {@link #POLL} later.
     *
     * @throws java.nio.file.AccessDeniedException when this user may not see its descriptors
     */
    default List<Path> awaitRelease(long pid, List<Path> nodes, Duration upTo) throws IOException {
      return holding(pid, nodes);
    }
  }

  /** QEMU's process cannot be told; the message says why. */
  public static final class Unknown extends Exception {
    public Unknown(String why) {
      super(why);
    }
  }

  static final Duration POLL = Duration.ofMillis(10);
  static final Duration NOTICE = Duration.ofSeconds(1);
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final Vertx vertx;
  private final EventStream events;
  private final SysfsHostPrep hostPrep;
  private final Processes processes;
  private final Function<String, List<Attachment>> records;
  private final Duration bound;

  /**
   * @param processes where QEMU's process is found ({@link #onThisHost} on a real host)
   * @param records the VM's records, to keep a group that another attached function shares
   */
  public ReleaseGate(Vertx vertx, EventStream events, SysfsHostPrep hostPrep, Processes processes,
      Function<String, List<Attachment>> records, Duration bound) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.events = Objects.requireNonNull(events, "events");
    this.hostPrep = Objects.requireNonNull(hostPrep, "hostPrep");
    this.processes = Objects.requireNonNull(processes, "processes");
    this.records = Objects.requireNonNull(records, "records");
    this.bound = Objects.requireNonNull(bound, "bound");
  }

  /**
   * QEMU's process on this host: the peer of the sidecar's own monitor connection when the kernel
   * told it ({@code SO_PEERCRED}), else the process listening on the VM's monitor socket by its
   * name in {@code /proc/net/unix}; its descriptors in {@code /proc/PID/fd}. The peer is exact; the
   * name is the path a socket was bound to, which a live update's rename leaves behind.
   *
   * @param monitorSocket the Unix socket of the VM's QMP monitor, empty when it has none (TCP,
   *     libvirt)
   * @param connectedPid the pid at the other end of the VM's monitor connection, if known
   * @param helper the privileged host-prep helper, which reads the descriptors of a QEMU this
   *     sidecar may not see or read ({@link SysfsHostPrep#releaseCheck()}), if host prep has one
   */
  public static Processes onThisHost(QemuProcessLookup lookup, Function<String, Optional<Path>> monitorSocket,
      Function<String, OptionalLong> connectedPid, Optional<HelperReleaseCheck> helper) {
    return new Processes() {
      @Override
      public long pid(String vm) throws Unknown {
        Optional<Path> socket;
        try {
          OptionalLong peer = connectedPid.apply(vm);
          if (peer.isPresent()) {
            if (helper.isEmpty() && !lookup.alive(peer.getAsLong())) {
              // The kernel named the peer; /proc hides it (hidepid, systemd's ProtectProc=invisible),
              // so an empty /proc/PID/fd would read as "released" without being so. A helper reads it.
              throw new Unknown("QEMU (pid " + peer.getAsLong() + ", the peer of the monitor connection) is not"
                  + " visible in this sidecar's /proc (ProtectProc=invisible or hidepid, as under the shipped"
                  + " units), so its descriptors cannot be read; set host.prepHelper to have the privileged"
                  + " helper read them");
            }
            return peer.getAsLong();
          }
          socket = monitorSocket.apply(vm);
        } catch (SidecarException e) {
          throw new Unknown("the VM is no longer configured: " + e.getMessage());
        }
        if (socket.isEmpty()) {
          throw new Unknown("QEMU's monitor is not a Unix socket, so its process is unknown");
        }
        OptionalLong pid;
        try {
          pid = lookup.listener(socket.get());
        } catch (IOException e) {
          throw new Unknown("reading /proc failed: " + e.getMessage());
        }
        return pid.orElseThrow(() -> new Unknown("no process this user may inspect listens on " + socket.get()
            + " (run the sidecar as root or as QEMU's user)"));
      }

      @Override
      public List<Path> holding(long pid, List<Path> nodes) throws IOException {
        return lookup.holding(pid, nodes);
      }

      /** Through the helper when this sidecar may not see or read QEMU's process, else its own look. */
      @Override
      public List<Path> awaitRelease(long pid, List<Path> nodes, Duration upTo) throws IOException {
        if (helper.isPresent() && !lookup.alive(pid)) {
          return helper.get().held(pid, nodes, upTo);
        }
        try {
          return lookup.holding(pid, nodes);
        } catch (AccessDeniedException e) {
          if (helper.isEmpty()) {
            throw e;
          }
          return helper.get().held(pid, nodes, upTo);
        }
      }
    };
  }

  /**
   * Waits until QEMU no longer holds the function of {@code a}, which is gone from QEMU.
   *
   * @return what was checked, for {@code device.detached}'s {@code release} member, or null for a
   *     device that holds no host function; fails with {@link SidecarException}
   *     ({@code TIMEOUT}, {@code release-timeout}) when QEMU still holds it at the bound
   */
  public Future<ObjectNode> released(Attachment a, String opId) {
    Bdf bdf = a.hostBdf() == null ? null : Bdf.parse(a.hostBdf());
    String mdev = mdevUuid(a);
    if (bdf == null && mdev == null) {
      return Future.succeededFuture(null);
    }
    Set<String> others = records.apply(a.vm()).stream().filter(r -> !r.id().equals(a.id()) && r.hostBdf() != null)
        .map(Attachment::hostBdf).collect(Collectors.toSet());
    Future<List<Path>> nodes = hostPrep.vfioNodes(bdf, mdev, member -> others.contains(member.value()));
    return nodes.compose(held -> {
      if (held.isEmpty()) {
        return Future.succeededFuture(unverified("the function's group is still used by another attached function"));
      }
      return vertx.executeBlocking(() -> processes.pid(a.vm())).compose(pid -> watch(a, opId, pid, held),
          e -> Future.succeededFuture(unverified(e instanceof Unknown ? e.getMessage()
              : "QEMU's process is unknown: " + e.getMessage())));
    }, e -> Future.succeededFuture(unverified("its device nodes are unknown: " + e.getMessage())));
  }

  private Future<ObjectNode> watch(Attachment a, String opId, long pid, List<Path> nodes) {
    long start = System.nanoTime();
    Promise<ObjectNode> done = Promise.promise();
    boolean[] told = {false};
    poll(a, opId, pid, nodes, start, told, done);
    return done.future();
  }

  private void poll(Attachment a, String opId, long pid, List<Path> nodes, long start, boolean[] told,
      Promise<ObjectNode> done) {
    long sinceStart = (System.nanoTime() - start) / 1_000_000;
    long nextDecision = told[0] ? bound.toMillis() : Math.min(NOTICE.toMillis(), bound.toMillis());
    Duration upTo = Duration.ofMillis(Math.max(0, nextDecision - sinceStart));
    // Unordered: a wait in the helper must not hold up the context's other blocking work.
    vertx.executeBlocking(() -> processes.awaitRelease(pid, nodes, upTo), false).onComplete(ar -> {
      long waited = (System.nanoTime() - start) / 1_000_000;
      if (ar.failed()) {
        String why = ar.cause() instanceof AccessDeniedException
            ? "this user may not read /proc/" + pid + "/fd (run the sidecar as root or as QEMU's user, or set"
                + " host.prepHelper to have the privileged helper read it)"
            : "reading /proc/" + pid + "/fd failed: " + ar.cause().getMessage();
        done.complete(unverified(why).put("pid", pid));
        return;
      }
      List<Path> held = ar.result();
      if (held.isEmpty()) {
        done.complete(JSON.objectNode().put("verified", true).put("pid", pid).put("waitedMs", waited)
            .set("nodes", paths(nodes)));
        return;
      }
      if (waited >= bound.toMillis()) {
        done.fail(SidecarException.of(Kind.TIMEOUT, "release-timeout", "VM " + a.vm() + ": " + a.id()
                + " is gone from QEMU, but QEMU (pid " + pid + ") still holds " + held + " after " + waited
                + " ms; the host driver was not restored and the function is not released")
            .vm(a.vm()).detail("device", a.id()).detail("pid", Long.toString(pid))
            .fix("check QEMU (a close stuck in the kernel shows in dmesg and /proc/" + pid + "/stack); once it"
                + " lets go, detach " + a.id() + " again to complete the removal")
            .build());
        return;
      }
      if (!told[0] && waited >= NOTICE.toMillis()) {
        told[0] = true;
        events.publish(a.vm(), EventTypes.DETACH_RELEASE_WAITING, opId, PendingDetaches.data(a).put("pid", pid)
            .put("waitedMs", waited).put("boundMs", bound.toMillis()).set("held", paths(held)));
      }
      vertx.setTimer(POLL.toMillis(), t -> poll(a, opId, pid, nodes, start, told, done));
    });
  }

  /** The UUID of the mediated device the record holds, or null. */
  private static String mdevUuid(Attachment a) {
    return HostMdev.uuidOf(a.properties().path("sysfsdev").textValue());
  }

  private static ObjectNode unverified(String why) {
    return JSON.objectNode().put("verified", false).put("why", why);
  }

  private static ArrayNode paths(List<Path> paths) {
    ArrayNode out = JSON.arrayNode();
    paths.forEach(p -> out.add(p.toString()));
    return out;
  }
}
