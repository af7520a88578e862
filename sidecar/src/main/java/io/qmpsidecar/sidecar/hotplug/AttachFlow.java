package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.HostDevice;
import io.qmpsidecar.sidecar.hostprep.HostMdev;
import io.qmpsidecar.sidecar.hostprep.NodeCheck;
import io.qmpsidecar.sidecar.hostprep.PreparedHost;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Attaches one device: migration check, host facts, idempotency, placement, policy, host prep,
 * {@code device_add}, verification, persistence; each step publishes its event. After any
 * failure that follows a change, the change is undone (device removed, host driver restored)
 * and the error lists what was rolled back. The caller serializes flows per VM.
 */
public final class AttachFlow {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final EventStream events;
  private final StateStore store;
  private final SysfsHostPrep hostPrep;
  private final HotplugOptions options;
  private final SlotPlacement placement;
  private final DeviceVerifier verifier;
  private final Rollback rollback;
  private final IommufdPassing iommufd;

  public AttachFlow(Vertx vertx, EventStream events, StateStore store, SysfsHostPrep hostPrep, HotplugOptions options) {
    this.events = events;
    this.store = store;
    this.hostPrep = hostPrep;
    this.options = options;
    this.placement = new SlotPlacement(options.queryTimeout());
    this.verifier = new DeviceVerifier(vertx, options.queryTimeout());
    this.rollback = new Rollback(hostPrep, options);
    this.iommufd = new IommufdPassing(vertx, hostPrep, options.queryTimeout());
  }

  /** State carried from step to step. */
  private static final class Run {
    /** As asked; for an mdev, with the migration defaults QEMU supports once they are known. */
    AttachRequest request;
    final Caller caller;
    final AttachAuthorizer authorizer;
    HostDevice host;
    HostMdev mdev;
    String id;
    String rootPort;
    ObjectNode properties;
    PreparedHost prepared;
    /** Whether the function goes to QEMU through IOMMUFD; when not, why (null for an emulated device). */
    boolean viaIommufd;
    String groupPathReason;
    boolean fdPassed;
    boolean intended;
    boolean added;

    Run(AttachRequest request, Caller caller, AttachAuthorizer authorizer) {
      this.request = request;
      this.caller = caller;
      this.authorizer = authorizer;
    }
  }

  /**
   * Runs the flow.
   *
   * @param authorizer decides, once the flow knows the exact {@code device_add} arguments and the
   *     function's facts, whether {@code caller} may make this attach (also when it repeats an
   *     existing one); nothing on the host or in QEMU has changed before it allowed
   * @return the new attachment, or the existing one when the same device is already attached
   *     with the same parameters (published as {@code attach.verified} with {@code existing});
   *     fails with a {@link SidecarException}
   */
  public Future<Attachment> attach(QmpConnection conn, Caller caller, AttachRequest request,
      AttachAuthorizer authorizer) {
    Run run = new Run(request, caller, authorizer);
    publish(run, EventTypes.ATTACH_REQUESTED, data(run).put("caller", caller.id()));
    try {
      hostPrep.checkDriver(request.hostDriver());
    } catch (SidecarException refused) {
      publish(run, EventTypes.ATTACH_FAILED, data(run).put("error", refused.getMessage()));
      return Future.failedFuture(refused);
    }
    return conn.execute(QmpCommands.queryMigrate(), options.queryTimeout())
        .compose(m -> m.isActive()
            ? Future.failedFuture(HotplugFailures.migrating(request.vm(), m.status()))
            : resolve(conn, run))
        .compose(v -> backend(conn, run))
        .compose(v -> {
          run.id = request.id() != null ? request.id() : defaultId(run);
          return store.list(request.vm());
        })
        .compose(stored -> Idempotency.check(run.request, run.id, hostName(run), stored)
            .map(existing -> repeated(run, existing, stored))
            .orElseGet(() -> place(conn, run).compose(v -> change(conn, run, stored))))
        .onFailure(e -> publish(run, EventTypes.ATTACH_FAILED, data(run).put("error", e.getMessage())));
  }

  private Future<Void> resolve(QmpConnection conn, Run run) {
    FunctionRef f = run.request.function();
    if (f == null) {
      return Future.succeededFuture();
    }
    if (f.mdev() != null) {
      return hostPrep.inspectMdev(f.mdev()).compose(mdev -> {
        run.mdev = mdev;
        return MdevMigrationDefaults.apply(conn, run.request.options(), options.queryTimeout());
      }).map(effective -> {
        run.request = run.request.withOptions(effective);
        return null;
      });
    }
    Future<Bdf> bdf = f.bdf() != null ? Future.succeededFuture(f.bdf()) : hostPrep.resolveVf(f.pf(), f.vfIndex());
    return bdf.compose(hostPrep::inspect).map(host -> {
      run.host = host;
      return null;
    });
  }

  /** How a VFIO function reaches QEMU: through IOMMUFD where the host, the monitor and QEMU allow it, else its group. */
  private Future<Void> backend(QmpConnection conn, Run run) {
    if (run.host == null && run.mdev == null) {
      return Future.succeededFuture();
    }
    return iommufd.unavailable(conn).map(reason -> {
      run.viaIommufd = reason.isEmpty();
      run.groupPathReason = reason.orElse(null);
      return null;
    });
  }

  /** {@code hp-} and the function's address or the mdev's UUID, as a device id may spell it. */
  private static String defaultId(Run run) {
    return "hp-" + (run.mdev != null ? run.mdev.uuid() : run.host.bdf().value().replaceAll("[:.]", "-"));
  }

  /** The function's BDF or the mdev's {@code sysfsdev}; null for an emulated device. */
  private static String hostName(Run run) {
    if (run.mdev != null) {
      return run.mdev.sysfsdev();
    }
    return run.host == null ? null : run.host.bdf().value();
  }

  private Future<Void> place(QmpConnection conn, Run run) {
    return placement.peripherals(conn).compose(p -> {
      if (p.devices().contains(run.id)) {
        return Future.failedFuture(HotplugFailures.conflict(run.request.vm(), "VM "
            + run.request.vm() + " already has a device '" + run.id + "' that the sidecar did not"
            + " attach; choose another id, or detach it first"));
      }
      return placement.choose(conn, run.request.vm(), run.request.rootPort(), p)
          .map(port -> {
            run.rootPort = port;
            return null;
          });
    });
  }

  /** The same attach exists: decided like a new one (it reports the device to the caller), changes nothing. */
  private Future<Attachment> repeated(Run run, Attachment existing, List<Attachment> stored) {
    run.rootPort = existing.rootPort();
    List<Attachment> others = stored.stream().filter(a -> !a.id().equals(existing.id())).toList();
    try {
      authorize(run, (ObjectNode) existing.properties(), others);
    } catch (SidecarException denied) {
      return Future.failedFuture(denied);
    }
    ObjectNode d = verifiedData(run, existing).put("existing", true);
    publish(run, EventTypes.ATTACH_VERIFIED, d);
    return Future.succeededFuture(existing);
  }

  private void authorize(Run run, ObjectNode properties, List<Attachment> stored) {
    run.authorizer.authorize(run.caller, "attach " + run.id + " to VM " + run.request.vm(), properties,
        AttachAuthorizer.facts(run.host, run.mdev, run.request.hostDriver(), stored));
  }

  private Future<Attachment> change(QmpConnection conn, Run run, List<Attachment> stored) {
    run.properties = properties(run);
    try {
      authorize(run, run.properties, stored);
    } catch (SidecarException denied) {
      return Future.failedFuture(denied);
    }
    // The intent is durable before anything changes: a crash from here on leaves a record that
    // the next reconcile adopts (QEMU has the device) or abandons (host driver restored).
    return store.put(intent(run))
        .compose(v -> {
          run.intended = true;
          return prepare(run, run.viaIommufd ? NodeCheck.NONE : NodeCheck.of(conn.peer()));
        })
        .compose(v -> !run.viaIommufd ? Future.<Void>succeededFuture()
            : iommufd.pass(conn, run.request.vm(), run.id, run.host == null ? null : run.host.bdf(),
                run.mdev == null ? null : run.mdev.uuid()).onSuccess(x -> run.fdPassed = true))
        .compose(v -> {
          return conn.execute(QmpCommands.deviceAdd(run.properties), options.attachTimeout())
              .recover(e -> Future.failedFuture(e instanceof QmpCommandException q
                  ? Failures.qemuRefused(run.request.vm(), q) : e));
        })
        .compose(v -> {
          run.added = true;
          publish(run, EventTypes.ATTACH_ADDED, data(run).set("properties", run.properties));
          return verifier.verify(conn, run.request.vm(), run.id, run.rootPort);
        })
        .compose(verified -> {
          Attachment a = attachment(run, verified);
          return store.put(a).map(a);
        })
        .onSuccess(a -> publish(run, EventTypes.ATTACH_VERIFIED, verifiedData(run, a)))
        .recover(e -> undo(conn, run, e));
  }

  /**
   * Host prep: binds the function or checks the mdev's group node, with the rights of the QEMU at
   * the other end of the monitor's socket when the kernel names it, and publishes what it found.
   */
  private Future<Void> prepare(Run run, NodeCheck check) {
    String checkedFor = check.describe();
    if (run.mdev != null) {
      return hostPrep.prepareMdev(run.mdev, check).map(mdev -> {
        publish(run, EventTypes.ATTACH_HOST_PREPARED, vfio(run, data(run).put("rebound", false)
            .put("iommuGroup", mdev.iommuGroup()).put("mdevType", mdev.type()).put("mdevParent", mdev.parent())
            .put("nodeCheckedFor", checkedFor)));
        return null;
      });
    }
    if (run.host == null) {
      return Future.succeededFuture();
    }
    return hostPrep.prepare(run.host, run.request.hostDriver(), check).map(prepared -> {
      run.prepared = prepared;
      publish(run, EventTypes.ATTACH_HOST_PREPARED, vfio(run, data(run)
          .put("hostDriver", prepared.boundDriver()).put("rebound", prepared.rebound())
          .put("iommuGroup", prepared.device().iommuGroup()).put("nodeCheckedFor", checkedFor)));
      return null;
    });
  }

  private Future<Attachment> undo(QmpConnection conn, Run run, Throwable cause) {
    Future<Void> unpassed = run.fdPassed && !run.added ? iommufd.forget(conn, run.id) : Future.succeededFuture();
    return unpassed.compose(v -> undoHostAndIntent(conn, run, cause));
  }

  private Future<Attachment> undoHostAndIntent(QmpConnection conn, Run run, Throwable cause) {
    if (!run.added && (run.prepared == null || !run.prepared.rebound())) {
      return forgetIntent(run, new ArrayList<>()).compose(steps -> Future.failedFuture(
          cause instanceof SidecarException se ? se.withRollback(steps) : cause));
    }
    return rollback.undo(conn, run.id, run.added, run.prepared).compose(steps -> forgetIntent(run, steps)).transform(ar -> {
      List<String> steps = ar.result();
      ObjectNode d = data(run).put("error", cause.getMessage());
      d.putArray("steps").addAll(steps.stream().map(JSON::textNode).toList());
      publish(run, EventTypes.ATTACH_ROLLED_BACK, d);
      SidecarException error = cause instanceof SidecarException se ? se
          : SidecarException.of(Kind.FAILED, "operation-failed", "VM " + run.request.vm() + ": attach of " + run.id
              + " failed: " + cause.getMessage()).vm(run.request.vm()).fix("check the VM and retry").cause(cause).build();
      return Future.failedFuture(error.withRollback(steps));
    });
  }

  /** Removes the stored intent of an undone attach; a failure to do so becomes a step of the rollback. */
  private Future<List<String>> forgetIntent(Run run, List<String> steps) {
    if (!run.intended) {
      return Future.succeededFuture(steps);
    }
    return store.remove(run.request.vm(), run.id).map(v -> steps).otherwise(e -> {
      List<String> more = new ArrayList<>(steps);
      more.add("the attach's stored intent could not be removed (" + e.getMessage()
          + "); the next reconcile removes it");
      return more;
    });
  }

  /** What the attach is about to do, stored before it does it. */
  private static Attachment intent(Run run) {
    boolean rebinds = run.host != null && run.request.hostDriver() != null
        && !run.host.driver().equals(Optional.of(run.request.hostDriver()));
    return new Attachment(run.request.vm(), run.id, run.request.driver(),
        run.host == null ? null : run.host.bdf().value(), run.rootPort, run.properties, rebinds,
        run.host == null ? null : run.host.driver().orElse(null), null, List.of(), AttachmentState.ATTACHING,
        run.request.opId(), run.caller.id());
  }

  private static ObjectNode properties(Run run) {
    ObjectNode p = JSON.objectNode().put("driver", run.request.driver()).put("id", run.id)
        .put("bus", run.rootPort);
    if (run.host != null) {
      p.put("host", run.host.bdf().value());
    }
    if (run.mdev != null) {
      p.put("sysfsdev", run.mdev.sysfsdev());
    }
    if (run.viaIommufd) {
      p.put("iommufd", IommufdPassing.OBJECT).put("fd", IommufdPassing.fdName(run.id));
    }
    run.request.options().applyTo(p);
    return p;
  }

  private static Attachment attachment(Run run, DeviceVerifier.Verified verified) {
    PreparedHost prepared = run.prepared;
    return new Attachment(run.request.vm(), run.id, run.request.driver(),
        run.host == null ? null : run.host.bdf().value(), run.rootPort, run.properties,
        prepared != null && prepared.rebound(),
        prepared == null ? null : prepared.previousDriver().orElse(null),
        verified.guestAddress(), verified.blockedReasons(), AttachmentState.ATTACHED,
        run.request.opId(), run.caller.id());
  }

  /** {@code vfio}: {@code iommufd} or {@code group}, and for the group path why not IOMMUFD. */
  private static ObjectNode vfio(Run run, ObjectNode d) {
    d.put("vfio", run.viaIommufd ? "iommufd" : "group");
    if (run.groupPathReason != null) {
      d.put("vfioReason", run.groupPathReason);
    }
    return d;
  }

  private ObjectNode verifiedData(Run run, Attachment a) {
    ObjectNode d = data(run).put("guestAddress", a.guestAddress());
    d.putArray("migrationBlockedReasons").addAll(a.migrationBlockedReasons().stream()
        .map(JSON::textNode).toList());
    return d;
  }

  private ObjectNode data(Run run) {
    ObjectNode d = JSON.objectNode().put("driver", run.request.driver());
    if (run.id != null) {
      d.put("id", run.id);
    }
    if (run.host != null) {
      d.put("host", run.host.bdf().value());
    }
    if (run.mdev != null) {
      d.put("sysfsdev", run.mdev.sysfsdev());
    }
    if (run.rootPort != null) {
      d.put("rootPort", run.rootPort);
    }
    return d;
  }

  private void publish(Run run, String type, ObjectNode data) {
    events.publish(run.request.vm(), type, run.request.opId(), data);
  }
}
