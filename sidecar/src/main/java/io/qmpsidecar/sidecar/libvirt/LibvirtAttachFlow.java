package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.DomainXml;
import io.qmpsidecar.libvirt.JobInfo;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.HostDevice;
import io.qmpsidecar.sidecar.hostprep.PreparedHost;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.AttachAuthorizer;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DeviceOptions;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Attaches one device to a libvirt VM: running-job check, host facts, idempotency, placement on
 * a free root port of the live XML, the decision (with the resolved facts, as for a QMP VM),
 * host prep (unless libvirt's managed binding does it), {@code virDomainAttachDeviceFlags(LIVE)},
 * verification in the live XML, persistence; each step publishes the same event as the QMP flow.
 * A failure after a change undoes it (device detached, host driver restored). The caller
 * serializes flows per VM.
 */
public final class LibvirtAttachFlow {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  /** Why a libvirt VM with a host function cannot migrate with it (libvirt's own refusal). */
  static final String HOSTDEV_BLOCKS_MIGRATION = "libvirt refuses to migrate a domain with a PCI host device";

  private final EventStream events;
  private final StateStore store;
  private final SysfsHostPrep hostPrep;

  public LibvirtAttachFlow(EventStream events, StateStore store, SysfsHostPrep hostPrep) {
    this.events = events;
    this.store = store;
    this.hostPrep = hostPrep;
  }

  private static final class Run {
    final AttachRequest request;
    final Caller caller;
    final LibvirtDomain domain;
    final AttachAuthorizer authorizer;
    HostDevice host;
    String id;
    DomainXml.RootPort port;
    ObjectNode properties;
    PreparedHost prepared;
    boolean intended;
    boolean added;

    Run(AttachRequest request, Caller caller, LibvirtDomain domain, AttachAuthorizer authorizer) {
      this.request = request;
      this.caller = caller;
      this.domain = domain;
      this.authorizer = authorizer;
    }
  }

  /**
   * Runs the flow.
   *
   * @param authorizer decides once the flow knows the device's properties and the function's
   *     facts (also for a repeat); nothing has changed before it allowed
   * @return the new attachment, or the existing one when the request repeats it (published as
   *     {@code attach.verified} with {@code existing}); fails with a {@link SidecarException}
   */
  public Future<Attachment> attach(LibvirtDomain domain, Caller caller, AttachRequest request,
      AttachAuthorizer authorizer) {
    Run run = new Run(request, caller, domain, authorizer);
    publish(run, EventTypes.ATTACH_REQUESTED, data(run).put("caller", caller.id()));
    DeviceOptions o = request.options();
    if (o.enableMigration() != null || o.migrationEvents() != null || o.failoverPairId() != null) {
      return fail(run, LibvirtFailures.invalid(request.vm(), "VM " + request.vm() + " is managed by libvirt, whose"
          + " <hostdev> has no enable-migration, migration-events or failover_pair_id; attach without them"));
    }
    if (request.function() != null && request.function().mdev() != null) {
      return fail(run, LibvirtFailures.invalid(request.vm(), "VM " + request.vm() + " is managed by libvirt: the"
          + " sidecar attaches mdevs only to VMs it reaches over QMP; attach the mdev through libvirt"
          + " (<hostdev type='mdev'>)"));
    }
    return domain.jobInfo()
        .compose(job -> migrating(job) ? Future.failedFuture(LibvirtFailures.migrating(request.vm(),
            job.operation().map(Enum::name).orElse("migration"))) : resolveHost(request))
        .compose(host -> {
          run.host = host;
          run.id = request.id() != null ? request.id() : "hp-" + host.bdf().value().replaceAll("[:.]", "-");
          return store.list(request.vm());
        })
        .compose(stored -> repeated(run, stored).map(existing -> decidedRepeat(run, existing, stored))
            .orElseGet(() -> domain.liveXml().compose(xml -> place(run, xml)).compose(v -> change(run, stored))))
        .onFailure(e -> publish(run, EventTypes.ATTACH_FAILED, data(run).put("error", e.getMessage())));
  }

  static boolean migrating(JobInfo job) {
    return (job.type() == JobInfo.Type.BOUNDED || job.type() == JobInfo.Type.UNBOUNDED)
        && job.operation().map(op -> op == JobInfo.Operation.MIGRATION_OUT || op == JobInfo.Operation.MIGRATION_IN)
            .orElse(true);
  }

  private Future<HostDevice> resolveHost(AttachRequest request) {
    FunctionRef f = request.function();
    if (f == null) {
      return Future.succeededFuture(null);
    }
    Future<Bdf> bdf = f.bdf() != null ? Future.succeededFuture(f.bdf()) : hostPrep.resolveVf(f.pf(), f.vfIndex());
    return bdf.compose(hostPrep::inspect);
  }

  /** The stored attachment this request repeats; a conflicting one fails. */
  private Future<Attachment> decidedRepeat(Run run, Attachment existing, List<Attachment> stored) {
    try {
      authorize(run, (ObjectNode) existing.properties(), stored.stream().filter(a -> !a.id().equals(existing.id()))
          .toList());
    } catch (SidecarException denied) {
      return Future.failedFuture(denied);
    }
    publish(run, EventTypes.ATTACH_VERIFIED, verifiedData(run, existing).put("existing", true));
    return Future.succeededFuture(existing);
  }

  private static void authorize(Run run, ObjectNode properties, List<Attachment> stored) {
    run.authorizer.authorize(run.caller, "attach " + run.id + " to VM " + run.request.vm(), properties,
        AttachAuthorizer.facts(run.host, null, run.request.hostDriver(), stored));
  }

  private static Optional<Attachment> repeated(Run run, List<Attachment> stored) {
    String vm = run.request.vm();
    String bdf = run.host == null ? null : run.host.bdf().value();
    for (Attachment a : stored) {
      boolean sameId = a.id().equals(run.id);
      boolean sameHost = bdf != null && bdf.equals(a.hostBdf());
      if (!sameId && !sameHost) {
        continue;
      }
      if (a.state() == AttachmentState.ATTACHING) {
        throw LibvirtFailures.conflict(vm, "VM " + vm + ": an earlier attach of " + a.id() + " did not finish; the"
            + " sidecar reconciles it with the domain when it reconnects: retry after reconcile.done");
      }
      if (a.state() == AttachmentState.DETACHING) {
        throw LibvirtFailures.conflict(vm, "VM " + vm + ": device " + a.id() + " is being detached (waiting for the"
            + " guest to release it); retry after device.detached, or reset the VM to complete the removal");
      }
      boolean samePort = run.request.rootPort() == null || run.request.rootPort().equals(a.rootPort());
      if (sameId && sameHost == (bdf != null) && a.driver().equals(run.request.driver()) && samePort) {
        return Optional.of(a);
      }
      throw LibvirtFailures.conflict(vm, "VM " + vm + ": " + (sameId ? "device id " + run.id : "host function " + bdf
          + " (as " + a.id() + ")") + " is already attached with other parameters (" + a.properties()
          + "); detach it first or attach with the same parameters");
    }
    return Optional.empty();
  }

  private Future<Void> place(Run run, DomainXml xml) {
    String vm = run.request.vm();
    if (xml.hasAlias(DeviceXml.alias(run.id))) {
      return Future.failedFuture(LibvirtFailures.conflict(vm, "VM " + vm + " already has a device with alias "
          + DeviceXml.alias(run.id) + " that the sidecar did not attach; choose another id, or detach it first"));
    }
    List<String> ports = xml.rootPorts().stream().map(LibvirtAttachFlow::portName).toList();
    List<DomainXml.RootPort> free = xml.freeRootPorts();
    String requested = run.request.rootPort();
    if (requested != null) {
      Optional<DomainXml.RootPort> port = xml.rootPorts().stream().filter(p -> matches(p, requested)).findFirst();
      if (port.isEmpty()) {
        return Future.failedFuture(LibvirtFailures.noFreeSlot(vm, "'" + requested
            + "' is not a pcie-root-port of this domain (name it by its alias or its controller index)", ports));
      }
      if (!free.contains(port.get())) {
        return Future.failedFuture(LibvirtFailures.noFreeSlot(vm, "root port '" + requested + "' already holds a device",
            ports));
      }
      run.port = port.get();
      return Future.succeededFuture();
    }
    if (free.isEmpty()) {
      return Future.failedFuture(LibvirtFailures.noFreeSlot(vm, "every pcie-root-port holds a device", ports));
    }
    run.port = free.get(0);
    return Future.succeededFuture();
  }

  /** A root port's name in the API: libvirt's alias ({@code pci.3}), or {@code index=N} without one. */
  static String portName(DomainXml.RootPort p) {
    return p.alias().isEmpty() ? "index=" + p.index() : p.alias();
  }

  /**
   * {@code attach.verified}'s members, a QMP VM's with {@code alias}: {@code guestAddress} is null,
   * since the live XML places the device by libvirt's controller indexes, not by the bus numbers
   * the guest's firmware gave.
   */
  private ObjectNode verifiedData(Run run, Attachment a) {
    ObjectNode d = data(run).put("alias", DeviceXml.alias(run.id)).putNull("guestAddress");
    d.putArray("migrationBlockedReasons").addAll(a.migrationBlockedReasons().stream().map(JSON::textNode).toList());
    return d;
  }

  private static boolean matches(DomainXml.RootPort p, String requested) {
    return requested.equals(p.alias()) || requested.equals(String.valueOf(p.index()))
        || requested.equals("index=" + p.index());
  }

  private Future<Attachment> change(Run run, List<Attachment> stored) {
    run.properties = properties(run);
    try {
      authorize(run, run.properties, stored);
    } catch (SidecarException denied) {
      return Future.failedFuture(denied);
    }
    boolean managed = run.domain.config().managed();
    DomainXml.PciAddress at = run.port.slotAddress();
    // The intent is durable before anything changes: a crash from here on leaves a record that
    // the next reconcile adopts (the domain has the device) or abandons (host driver restored).
    return store.put(intent(run, managed))
        .compose(v -> {
          run.intended = true;
          return run.host == null || managed ? Future.<PreparedHost>succeededFuture(null)
              : hostPrep.prepare(run.host, run.request.hostDriver());
        })
        .compose(prepared -> {
          run.prepared = prepared;
          if (prepared != null) {
            publish(run, EventTypes.ATTACH_HOST_PREPARED, data(run)
                .put("hostDriver", prepared.boundDriver()).put("rebound", prepared.rebound())
                .put("iommuGroup", prepared.device().iommuGroup()));
          }
          String xml = run.host != null
              ? DeviceXml.hostdev(run.id, run.host.bdf(), managed, run.request.options().rombar(), at)
              : DeviceXml.standIn(run.id, run.request.driver(), at);
          return run.domain.attachDevice(xml);
        })
        .compose(v -> {
          run.added = true;
          publish(run, EventTypes.ATTACH_ADDED, data(run).set("properties", run.properties));
          return run.domain.liveXml();
        })
        .compose(xml -> {
          Optional<DomainXml.PciAddress> found = xml.addressOf(DeviceXml.alias(run.id));
          if (found.isEmpty() || found.get().bus() != at.bus()) {
            return Future.failedFuture(LibvirtFailures.unverified(run.request.vm(), "VM " + run.request.vm()
                + ": libvirt accepted " + DeviceXml.alias(run.id) + " but its live XML shows it "
                + found.map(a -> "on bus " + a.bus() + ", not on " + portName(run.port)).orElse("nowhere")));
          }
          Attachment a = attachment(run);
          return store.put(a).map(a);
        })
        .onSuccess(a -> publish(run, EventTypes.ATTACH_VERIFIED, verifiedData(run, a)))
        .recover(e -> undo(run, e));
  }

  private Future<Attachment> undo(Run run, Throwable cause) {
    boolean rebound = run.prepared != null && run.prepared.rebound();
    if (!run.added && !rebound) {
      // Nothing changed: the intent goes (or, if the store cannot remove it, the next reconcile does).
      Future<Void> forgotten = run.intended ? store.remove(run.request.vm(), run.id) : Future.succeededFuture();
      return forgotten.transform(ar -> Future.failedFuture(cause));
    }
    List<String> steps = new ArrayList<>();
    Future<Void> removed = !run.added ? Future.succeededFuture()
        : run.domain.detachAlias(DeviceXml.alias(run.id))
            .onSuccess(v -> steps.add("removal of " + DeviceXml.alias(run.id) + " requested from libvirt"))
            .otherwise(e -> {
              steps.add("removal of " + DeviceXml.alias(run.id) + " failed: " + e.getMessage());
              return null;
            });
    return removed.compose(v -> !rebound ? Future.<Void>succeededFuture()
            : hostPrep.restore(run.host.bdf(), run.prepared.previousDriver())
                .onSuccess(x -> steps.add("host driver of " + run.host.bdf().value() + " restored"))
                .otherwise(e -> {
                  steps.add("host driver restore of " + run.host.bdf().value() + " failed: " + e.getMessage());
                  return null;
                }))
        .compose(v -> store.remove(run.request.vm(), run.id).otherwise(e -> {
          steps.add("the attach's stored intent could not be removed (" + e.getMessage()
              + "); the next reconcile removes it");
          return null;
        }))
        .transform(ar -> {
          ObjectNode d = data(run).put("error", cause.getMessage());
          d.putArray("steps").addAll(steps.stream().map(JSON::textNode).toList());
          publish(run, EventTypes.ATTACH_ROLLED_BACK, d);
          SidecarException error = cause instanceof SidecarException se ? se
              : SidecarException.of(Kind.FAILED, "operation-failed", "VM " + run.request.vm() + ": attach of " + run.id
                  + " failed: " + cause.getMessage()).vm(run.request.vm()).fix("check the VM and retry").cause(cause).build();
          return Future.failedFuture(error.withRollback(steps));
        });
  }

  private static ObjectNode properties(Run run) {
    ObjectNode p = JSON.objectNode().put("driver", run.request.driver()).put("id", run.id)
        .put("bus", portName(run.port));
    if (run.host != null) {
      p.put("host", run.host.bdf().value());
    }
    if (run.request.options().rombar() != null) {
      p.put("rombar", run.request.options().rombar());
    }
    return p;
  }

  /** What the attach is about to do, stored before it does it. */
  private static Attachment intent(Run run, boolean managed) {
    boolean rebinds = run.host != null && !managed && run.request.hostDriver() != null
        && !run.host.driver().equals(Optional.of(run.request.hostDriver()));
    return new Attachment(run.request.vm(), run.id, run.request.driver(),
        run.host == null ? null : run.host.bdf().value(), portName(run.port), run.properties, rebinds,
        run.host == null ? null : run.host.driver().orElse(null), null, List.of(), AttachmentState.ATTACHING,
        run.request.opId(), run.caller.id());
  }

  private static Attachment attachment(Run run) {
    PreparedHost prepared = run.prepared;
    return new Attachment(run.request.vm(), run.id, run.request.driver(),
        run.host == null ? null : run.host.bdf().value(), portName(run.port), run.properties,
        prepared != null && prepared.rebound(), prepared == null ? null : prepared.previousDriver().orElse(null),
        null, run.host == null ? List.of() : List.of(HOSTDEV_BLOCKS_MIGRATION), AttachmentState.ATTACHED,
        run.request.opId(), run.caller.id());
  }

  private Future<Attachment> fail(Run run, SidecarException e) {
    publish(run, EventTypes.ATTACH_FAILED, data(run).put("error", e.getMessage()));
    return Future.failedFuture(e);
  }

  private static ObjectNode data(Run run) {
    ObjectNode d = JSON.objectNode().put("driver", run.request.driver()).put("backend", "libvirt");
    if (run.id != null) {
      d.put("id", run.id);
    }
    if (run.host != null) {
      d.put("host", run.host.bdf().value());
    }
    if (run.port != null) {
      d.put("rootPort", portName(run.port));
    }
    return d;
  }

  private void publish(Run run, String type, ObjectNode data) {
    events.publish(run.request.vm(), type, run.request.opId(), data);
  }
}
