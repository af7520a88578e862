package io.qmpsidecar.sidecar.liveupdate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpGreeting;
import io.qmpsidecar.qmp.QmpVersion;
import io.qmpsidecar.qmp.VmStatus;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live update of one VM (docs/live-update.md): preconditions, the new QEMU started with the
 * old one's command line and the {@code cpr} channel, {@code migrate} with both channels on the
 * old QEMU before any command to the new one, the sidecar's hot-plugged devices recreated on the
 * new one while it is {@code inmigrate}, {@code migrate-incoming}, completion on both sides, then
 * the new QEMU's sockets take the old paths and the old QEMU quits. Until the new QEMU runs the
 * guest, any failure kills the new QEMU and leaves the old one running, checked with
 * {@code query-status}; the records are never changed.
 */
public final class LiveUpdateFlow {
  private static final Logger LOG = LoggerFactory.getLogger(LiveUpdateFlow.class);
  private static final Pattern VERSION = Pattern.compile("version (\\d+)\\.(\\d+)\\.(\\d+)");
  private static final Duration POLL = Duration.ofMillis(20);
  private static final Duration COMMAND = Duration.ofSeconds(10);
  /** A Unix socket's path must fit sockaddr_un.sun_path (108 bytes with its NUL). */
  private static final int MAX_SOCKET_PATH = 107;

  private final Vertx vertx;
  private final EventStream events;
  private final LiveUpdateOptions options;
  private final QemuHost host;

  public LiveUpdateFlow(Vertx vertx, EventStream events, LiveUpdateOptions options) {
    this(vertx, events, options, new LocalQemuHost());
  }

  /** @param host where the VMs' QEMUs run: this machine, or (the lab's tests) another */
  public LiveUpdateFlow(Vertx vertx, EventStream events, LiveUpdateOptions options, QemuHost host) {
    this.vertx = vertx;
    this.events = events;
    this.options = options;
    this.host = host;
  }

  /** What one run knows, step by step. */
  private static final class Run {
    final VmHandle handle;
    final String vm;
    final QmpConnection old;
    final List<Attachment> records;
    final String binary;
    final String opId;
    final long started = System.nanoTime();
    final String suffix = CprCommandLine.movedSuffix(ThreadLocalRandom.current());
    Path dir;
    Path monitor;
    long oldPid;
    List<String> argv;
    Map<String, String> env;
    Map<String, String> moves;
    String machineType;
    QmpVersion oldVersion;
    QmpGreeting oldGreeting;
    QmpVersion newVersion;
    boolean wasRunning;
    boolean modeSet;
    boolean migrateSent;
    QemuHost.Launched process;
    long newPid = -1;
    QmpConnection fresh;
    long switchoverMs;
    final List<String> devices = new ArrayList<>();

    Run(VmHandle handle, QmpConnection old, List<Attachment> records, String binary, String opId) {
      this.handle = handle;
      this.vm = handle.name();
      this.old = old;
      this.records = records;
      this.binary = binary;
      this.opId = opId;
    }

    Path cprSocket() {
      return dir.resolve("cpr.sock");
    }

    Path mainSocket() {
      return dir.resolve("main.sock");
    }

    Path log() {
      return dir.resolve("new-qemu.log");
    }
  }

  /**
   * Live-updates {@code handle}'s QEMU to {@code binary} (null: the path the old QEMU was started
   * from, which a package upgrade replaced).
   *
   * @param records the VM's attachments: their devices are recreated on the new QEMU
   * @return fails with {@link SidecarException}: {@code CONFLICT} ({@code live-update-refused}) for
   *     an unmet precondition, nothing changed; {@code MIGRATION_BLOCKED} for QEMU's own reasons;
   *     {@code FAILED} ({@code live-update-failed}) after a rollback, naming the old QEMU's state
   */
  public Future<LiveUpdateResult> run(VmHandle handle, QmpConnection old, List<Attachment> records, String binary,
      String opId) {
    Run run = new Run(handle, old, records, binary, opId);
    return preconditions(run)
        // A refusal after QEMU's own check began leaves the migration mode as it was.
        .recover(e -> restoreMode(run).transform(x -> Future.<Void>failedFuture(e)))
        .compose(v -> {
          publish(run, "liveupdate.started", data(run).put("newQemu", run.binary == null ? run.argv.get(
              CprCommandLine.binaryIndex(run.argv)) : run.binary).put("fromVersion", run.oldVersion.toString())
              .put("toVersion", run.newVersion.toString()).put("machineType", run.machineType));
          return handover(run).recover(e -> rollback(run, e));
        })
        .compose(v -> finish(run));
  }

  // ---- preconditions: read only, except QEMU's own check (mode cpr-transfer), undone on refusal

  private Future<Void> preconditions(Run run) {
    Optional<Path> monitor = host.monitorPath(run.handle.address());
    if (monitor.isEmpty()) {
      return refused(run, "its monitor is " + run.handle.address() + "; live update needs a Unix socket monitor"
          + " (the sidecar finds QEMU's process and command line through it, and the new QEMU takes it over)");
    }
    run.monitor = monitor.get();
    run.oldGreeting = run.old.greeting();
    run.oldVersion = run.oldGreeting.version();
    if (!run.oldVersion.atLeast(10, 0)) {
      return refused(run, "QEMU " + run.oldVersion + " has no cpr-transfer migration mode (QEMU 10.0 added it);"
          + " restart the VM on QEMU 10.0 or later once, then it can be live-updated");
    }
    run.dir = options.workDir().resolve(run.vm);
    if (run.dir.resolve("main.sock").toString().length() > MAX_SOCKET_PATH
        || run.monitor.toString().length() + CprCommandLine.MOVED_LENGTH > MAX_SOCKET_PATH) {
      return refused(run, "the sockets of the update (" + run.dir + "/main.sock, " + run.monitor
          + run.suffix + ") would be longer than a Unix socket path may be (" + MAX_SOCKET_PATH
          + " bytes); use a shorter stateDir or monitor path");
    }
    OptionalLong peer = run.old.peer().map(p -> OptionalLong.of(p.pid())).orElse(OptionalLong.empty());
    return blocking(() -> {
      long pid = (peer.isPresent() ? peer : host.listener(run.monitor)).orElseThrow(() -> refusal(run, "no process"
          + " this user may inspect listens on " + run.monitor + "; run the sidecar as root or as the user QEMU"
          + " runs as"));
      run.oldPid = pid;
      try {
        run.argv = CprCommandLine.settled(host.commandLine(pid));
        run.env = host.environment(pid);
      } catch (IOException e) {
        throw refusal(run, "QEMU (pid " + pid + ", listening on " + run.monitor + ") is a process this user may not"
            + " inspect (" + e.getMessage() + "); run the sidecar as root or as the user QEMU runs as");
      }
      String own;
      try {
        own = run.argv.get(CprCommandLine.binaryIndex(run.argv));
      } catch (IllegalArgumentException e) {
        throw refusal(run, "process " + pid + " listening on " + run.monitor + " is not a qemu-system-* binary ("
            + e.getMessage() + ")");
      }
      if (run.binary != null && !run.binary.equals(own) && !options.binaries().contains(run.binary)) {
        throw SidecarException.of(Kind.DENIED, "live-update-binary-not-allowed", "VM " + run.vm + ": " + run.binary
            + " is not a QEMU binary this host's configuration lets a live update start (liveUpdate.binaries: "
            + options.binaries() + "; the running QEMU's own path " + own + " is always allowed)").vm(run.vm)
            .fix("add it to liveUpdate.binaries in the sidecar's configuration, or update to " + own).build();
      }
      run.newVersion = version(run, run.binary != null ? List.of(run.binary)
          : run.argv.subList(0, CprCommandLine.binaryIndex(run.argv) + 1));
      return null;
    }).compose(v -> checks(run));
  }

  private Future<Void> checks(Run run) {
    List<String> sockets = CprCommandLine.listeningSockets(
        run.argv.subList(CprCommandLine.binaryIndex(run.argv) + 1, run.argv.size()));
    if (!sockets.contains(run.monitor.toString())) {
      return refused(run, "the monitor socket " + run.monitor + " is not on QEMU " + run.oldPid + "'s command line"
          + " as a listening Unix socket, so the new QEMU could not take it over");
    }
    List<String> moved = new ArrayList<>(sockets);
    String pidFile = CprCommandLine.pidFile(run.argv.subList(CprCommandLine.binaryIndex(run.argv) + 1, run.argv.size()));
    if (pidFile != null) {
      moved.add(pidFile);
    }
    run.moves = CprCommandLine.moves(moved, run.suffix);
    if (run.newVersion.compareTo(run.oldVersion) < 0) {
      return refused(run, "the new binary is QEMU " + run.newVersion + ", older than the running " + run.oldVersion
          + "; live update goes to the same or a newer QEMU only");
    }
    boolean vfio = run.records.stream().anyMatch(a -> a.driver().startsWith("vfio"))
        || run.argv.stream().anyMatch(a -> a.contains("vfio-pci"));
    if (vfio && !(run.oldVersion.atLeast(10, 1) && run.newVersion.atLeast(10, 1))) {
      return refused(run, "the VM holds VFIO devices, which cpr-transfer preserves from QEMU 10.1 on; both QEMUs"
          + " must be 10.1 or later (running " + run.oldVersion + ", new " + run.newVersion + ")");
    }
    Optional<String> passed = run.records.stream().filter(a -> a.properties().has("fd")).map(Attachment::id).findFirst();
    if (passed.isPresent()) {
      return refused(run, "its function " + passed.get() + " was attached through IOMMUFD with descriptors the sidecar"
          + " passed, which a live update does not hand to the new QEMU yet; detach it first (or attach with"
          + " host.iommufd: off)");
    }
    QmpConnection c = run.old;
    return c.execute(QmpCommands.qomGet("/machine", "type"), COMMAND)
        .compose(type -> {
          run.machineType = type.asText().replaceAll("-machine$", "");
          return c.execute(QmpCommands.qomGet("/machine", "aux-ram-share"), COMMAND)
              .recover(e -> Future.succeededFuture(JsonNodeFactory.instance.booleanNode(false)));
        })
        .compose(aux -> aux.asBoolean() ? c.execute(QmpCommands.qomGet("/machine", "memory-backend"), COMMAND)
            : refused(run, "the VM was not launched with -machine aux-ram-share=on (its ROMs and other implicit RAM"
                + " must be in shared memory to be handed over); add it to the VM's launch and restart it once"))
        .compose(backend -> backend.asText("").isEmpty()
            ? refused(run, "the VM's RAM is not a memory backend object; launch it with -object"
                + " memory-backend-memfd,id=ram0,size=SIZE,share=on -machine memory-backend=ram0")
            : c.execute(QmpCommands.qomGet(backend.asText().startsWith("/") ? backend.asText()
                : "/objects/" + backend.asText(), "share"), COMMAND)
                .compose(share -> share.asBoolean() ? Future.<Void>succeededFuture()
                    : refused(run, "the VM's memory backend " + backend.asText() + " has share=off; the new QEMU"
                        + " can only take over shared RAM: launch it with share=on")))
        .compose(v -> c.execute(QmpCommand.raw("query-migrate-capabilities", null), COMMAND))
        .compose(caps -> {
          for (JsonNode cap : caps) {
            if (cap.path("state").asBoolean() && cap.path("capability").asText().startsWith("postcopy")) {
              return refused(run, "migration capability " + cap.path("capability").asText() + " is on; cpr-transfer"
                  + " cannot be used with postcopy: turn it off (migrate-set-capabilities)");
            }
          }
          return c.execute(QmpCommands.queryStatus(), COMMAND);
        })
        .compose(status -> {
          if (!status.status().equals("running") && !status.status().equals("paused")) {
            return refused(run, "QEMU's run state is " + status.status() + "; live update starts from running or"
                + " paused only");
          }
          run.wasRunning = status.running();
          return c.execute(QmpCommands.queryMigrate(), COMMAND);
        })
        .compose(info -> {
          if (info.status() != null && !List.of("none", "completed", "failed", "cancelled").contains(info.status())) {
            return refused(run, "a migration is " + info.status() + "; wait for it to end or cancel it");
          }
          return c.execute(QmpCommands.migrateSetParameters(JsonNodeFactory.instance.objectNode()
              .put("mode", "cpr-transfer")), COMMAND);
        })
        .compose(v -> {
          run.modeSet = true;
          return c.execute(QmpCommands.queryMigrate(), COMMAND);
        })
        .compose(info -> {
          if (info.blockedReasons().isEmpty()) {
            return Future.<Void>succeededFuture();
          }
          return restoreMode(run).transform(ar -> Future.failedFuture(SidecarException.of(Kind.MIGRATION_BLOCKED,
              "live-update-blocked", "VM " + run.vm + " cannot be live-updated: QEMU reports " + info.blockedReasons())
              .vm(run.vm).detail("blockedReasons", info.blockedReasons())
              .fix("remove what QEMU names, or launch the VM so that it is allowed (docs/live-update.md)").build()));
        });
  }

  /** The version {@code binary} (a loader and its options may come first) prints. */
  private QmpVersion version(Run run, List<String> binary) throws InterruptedException {
    String out;
    try {
      out = host.version(binary, run.env, COMMAND);
    } catch (IOException e) {
      throw refusal(run, "the new QEMU binary cannot say its version: " + e.getMessage());
    }
    Matcher m = VERSION.matcher(out);
    if (!m.find()) {
      throw refusal(run, String.join(" ", binary) + " is not a QEMU binary: --version printed " + out.strip());
    }
    return new QmpVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
        "");
  }

  // ---- the handover

  private Future<Void> handover(Run run) {
    List<String> argv = CprCommandLine.build(run.argv, run.binary, run.machineType, run.moves, run.cprSocket());
    return blocking(() -> {
      List<Path> stale = new ArrayList<>(List.of(run.cprSocket(), run.mainSocket()));
      run.moves.values().forEach(m -> stale.add(Path.of(m)));
      host.prepare(run.dir, stale);
      List<String> command = new ArrayList<>(options.launcher());
      command.addAll(argv);
      run.process = host.launch(command, run.env, run.log());
      LOG.info("VM {}: live update: started the new QEMU (pid {}): {}", run.vm, run.process.pid(), command);
      return null;
    })
        .compose(v -> untilBlocking(run, "the new QEMU opens its cpr channel " + run.cprSocket(),
            () -> host.listening(run.cprSocket())))
        .compose(v -> {
          run.migrateSent = true;
          return run.old.execute(QmpCommand.raw("migrate", migrateArguments(run.vm)), COMMAND);
        })
        .compose(v -> untilBlocking(run, "the new QEMU opens its monitor",
            () -> host.listening(moved(run, run.monitor))))
        .compose(v -> blocking(() -> host.dial(moved(run, run.monitor))))
        .compose(address -> QmpClient.create(vertx, QmpClientOptions.of(address).withCommandTimeout(COMMAND)).connect())
        .compose(fresh -> {
          run.fresh = fresh;
          return fresh.peer().<Future<Long>>map(p -> Future.succeededFuture(p.pid()))
              .orElseGet(() -> blocking(() -> host.listener(moved(run, run.monitor)).orElse(-1)));
        })
        .compose(pid -> {
          run.newPid = pid;
          return run.fresh.execute(QmpCommands.queryStatus(), COMMAND);
        })
        .compose(status -> status.status().equals("inmigrate") ? recreate(run, 0)
            : Future.failedFuture(new IllegalStateException("the new QEMU is " + status.status()
                + ", not inmigrate")))
        .compose(v -> {
          run.handle.retiring(true);
          long t0 = System.nanoTime();
          return run.fresh.execute(QmpCommands.migrateIncoming("unix:" + run.mainSocket()), COMMAND)
              .compose(x -> until(run, "the new QEMU completes the incoming migration", () -> incomingDone(run)))
              .compose(x -> run.wasRunning ? until(run, "the new QEMU runs the guest", () -> running(run.fresh))
                  : Future.succeededFuture())
              .onSuccess(x -> run.switchoverMs = Duration.ofNanos(System.nanoTime() - t0).toMillis());
        });
  }

  private Future<Void> recreate(Run run, int i) {
    List<Attachment> attached = run.records.stream()
        .filter(a -> a.state() == AttachmentState.ATTACHED).toList();
    if (i == attached.size()) {
      return Future.succeededFuture();
    }
    Attachment a = attached.get(i);
    return run.fresh.execute(QmpCommands.deviceAdd((ObjectNode) a.properties().deepCopy()), COMMAND)
        .recover(e -> Future.failedFuture(new IllegalStateException("the new QEMU refused device " + a.id() + " ("
            + e.getMessage() + ")", e)))
        .compose(v -> {
          run.devices.add(a.id());
          return recreate(run, i + 1);
        });
  }

  private Future<Boolean> incomingDone(Run run) {
    return run.fresh.execute(QmpCommands.queryMigrate(), COMMAND).compose(info -> {
      if ("failed".equals(info.status())) {
        return Future.failedFuture(new IllegalStateException("the new QEMU's incoming migration failed"
            + (info.errorDesc() == null ? "" : ": " + info.errorDesc())));
      }
      return Future.succeededFuture("completed".equals(info.status()));
    });
  }

  private static Future<Boolean> running(QmpConnection c) {
    return c.execute(QmpCommands.queryStatus(), COMMAND).map(VmStatus::running);
  }

  /**
   * The {@code migrate} arguments a live update of {@code vm} sends to the old QEMU: its main and
   * cpr channels, on Unix sockets in the update's directory. The policy decides on these.
   */
  public ObjectNode migrateArguments(String vm) {
    Path dir = options.workDir().resolve(vm);
    ObjectNode args = JsonNodeFactory.instance.objectNode();
    var list = args.putArray("channels");
    list.addObject().put("channel-type", "main").putObject("addr").put("transport", "socket").put("type", "unix")
        .put("path", dir.resolve("main.sock").toString());
    list.addObject().put("channel-type", "cpr").putObject("addr").put("transport", "socket").put("type", "unix")
        .put("path", dir.resolve("cpr.sock").toString());
    return args;
  }

  // ---- after the switchover: the new QEMU runs the guest; nothing is rolled back from here

  private Future<LiveUpdateResult> finish(Run run) {
    return run.old.execute(QmpCommands.queryMigrate(), COMMAND).map(MigrationInfo::downtimeMs)
        .recover(e -> Future.succeededFuture(-1L))
        .compose(downtime -> run.fresh.close().recover(e -> Future.succeededFuture())
            .compose(v -> run.old.execute(QmpCommand.raw("quit", null), COMMAND).recover(e -> Future.succeededFuture()))
            .compose(v -> untilBlocking(run, "the old QEMU (pid " + run.oldPid + ") exits", () -> !host.alive(run.oldPid)))
            // Only now: a QEMU that quits unlinks its sockets' paths, whatever they point to then.
            .compose(v -> blocking(() -> {
              for (Map.Entry<String, String> m : run.moves.entrySet()) {
                host.move(Path.of(m.getValue()), Path.of(m.getKey()));
              }
              return null;
            }))
            .compose(v -> until(run, "the sidecar reconnects to the new QEMU", () -> run.handle.ready()
                .map(c -> reconnected(run, c))
                .otherwise(false)))
            .map(v -> {
              run.handle.retiring(false);
              long total = Duration.ofNanos(System.nanoTime() - run.started).toMillis();
              LiveUpdateResult r = new LiveUpdateResult(run.vm, run.opId, run.oldPid, run.newPid,
                  run.oldVersion.toString(), run.newVersion.toString(), run.machineType, downtime, run.switchoverMs,
                  total, run.devices);
              ObjectNode d = data(run).put("newPid", run.newPid).put("version", run.newVersion.toString())
                  .put("downtimeMs", downtime).put("switchoverMs", run.switchoverMs).put("totalMs", total);
              run.devices.forEach(d.putArray("devices")::add);
              publish(run, "liveupdate.completed", d);
              LOG.info("VM {}: live update done: QEMU {} (pid {}) runs it, downtime {} ms, {} ms in all", run.vm,
                  run.newVersion, run.newPid, downtime, total);
              return r;
            }))
        .recover(e -> {
          run.handle.retiring(false);
          // Whatever failed (a step that timed out included), the guest runs in the new QEMU: incomplete, not failed.
          SidecarException failure = SidecarException.of(Kind.FAILED,
              "live-update-incomplete", "VM " + run.vm + ": the new QEMU (pid " + run.newPid + ") runs the guest,"
                  + " but the update could not finish: " + e.getMessage()).vm(run.vm)
              .fix("check that the old QEMU (pid " + run.oldPid + ") has exited and that the monitor socket "
                  + run.monitor + " is the new QEMU's; the sidecar reconnects on its own").cause(e).build();
          publish(run, "liveupdate.failed", data(run).put("phase", "finish").put("error", failure.getMessage())
              .put("rolledBack", false));
          return Future.failedFuture(failure);
        });
  }

  /**
   * Whether the VM's connection is to the new QEMU. Its version alone does not say so when both
   * QEMUs are the same build: the connection to the old one can still look ready for a moment after
   * that QEMU exited. The peer's pid does; without peer credentials, a greeting other than the one
   * the update began with does.
   */
  private static boolean reconnected(Run run, QmpConnection c) {
    return c.peer().map(p -> p.pid() == run.newPid).orElseGet(() -> c.greeting() != run.oldGreeting
        && c.greeting().version().compareTo(run.newVersion) == 0);
  }

  // ---- rollback: before the new QEMU ran the guest

  private Future<Void> rollback(Run run, Throwable cause) {
    if (cause instanceof SidecarException s && s.kind() != Kind.FAILED && !run.migrateSent && run.process == null) {
      return restoreMode(run).transform(ar -> Future.failedFuture(s));
    }
    List<String> steps = new ArrayList<>();
    Future<Void> fresh = run.fresh == null ? Future.succeededFuture()
        : run.fresh.close().recover(e -> Future.succeededFuture());
    return fresh.compose(v -> blocking(() -> {
      killNew(run);
      steps.add("killed the new QEMU");
      for (String moved : run.moves.values()) {
        host.delete(Path.of(moved));
      }
      host.delete(run.cprSocket());
      host.delete(run.mainSocket());
      return null;
    }))
        .compose(v -> run.old.execute(QmpCommands.queryMigrate(), COMMAND))
        .compose(info -> List.of("setup", "active", "device", "wait-unplug", "pre-switchover", "cancelling")
            .contains(info.status())
            ? run.old.execute(QmpCommands.migrateCancel(), COMMAND)
                .compose(x -> until(run, "the old QEMU's migration ends", () -> run.old.execute(QmpCommands.queryMigrate(),
                    COMMAND).map(i -> !List.of("setup", "active", "device", "cancelling").contains(i.status()))))
                .onSuccess(x -> steps.add("cancelled the old QEMU's migration"))
            : Future.succeededFuture())
        .compose(v -> run.old.execute(QmpCommands.queryStatus(), COMMAND))
        .compose(status -> run.wasRunning && !status.running()
            ? run.old.execute(QmpCommands.cont(), COMMAND).onSuccess(x -> steps.add("resumed the old QEMU"))
            : Future.<Void>succeededFuture())
        .compose(v -> restoreMode(run))
        .compose(v -> run.old.execute(QmpCommands.queryStatus(), COMMAND))
        .transform(ar -> {
          run.handle.retiring(false);
          String oldState = ar.succeeded() ? ar.result().status() : "unknown (" + ar.cause().getMessage() + ")";
          boolean kept = ar.succeeded() && ar.result().running() == run.wasRunning;
          publish(run, "liveupdate.failed", data(run).put("phase", run.migrateSent ? "handover" : "start")
              .put("error", String.valueOf(cause.getMessage())).put("rolledBack", kept).put("oldQemuStatus", oldState));
          LOG.warn("VM {}: live update failed ({}); old QEMU pid {} is {}", run.vm, cause.getMessage(), run.oldPid,
              oldState);
          return Future.failedFuture(SidecarException.of(Kind.FAILED, "live-update-failed", "VM " + run.vm
              + ": live update failed: " + cause.getMessage() + "; the old QEMU (pid " + run.oldPid + ") is "
              + oldState + (kept ? " as before" : ", NOT as before")).vm(run.vm).cause(cause)
              .fix(kept ? "nothing changed for the guest; see " + run.log() + " for the new QEMU's output, fix the"
                  + " cause and retry" : "check the old QEMU with query-status and resume it (cont); see " + run.log())
              .detail("oldQemuStatus", oldState).build().withRollback(steps));
        });
  }

  private void killNew(Run run) throws IOException, InterruptedException {
    if (run.process != null) {
      run.process.kill();
    }
    // A launcher may hand the QEMU to another parent (a service manager): it is not under it then.
    if (run.newPid > 0 && (run.process == null || run.newPid != run.process.pid())) {
      host.kill(run.newPid);
    }
  }

  private Future<Void> restoreMode(Run run) {
    if (!run.modeSet) {
      return Future.succeededFuture();
    }
    return run.old.execute(QmpCommands.migrateSetParameters(JsonNodeFactory.instance.objectNode().put("mode", "normal")),
        COMMAND).onSuccess(v -> run.modeSet = false);
  }

  // ---- helpers

  private static Path moved(Run run, Path socket) {
    return Path.of(run.moves.get(socket.toString()));
  }

  /** Polls {@code condition} every {@link #POLL} until it holds, the new QEMU dies or the timeout runs out. */
  private Future<Void> until(Run run, String what, Supplier<Future<Boolean>> condition) {
    Promise<Void> done = Promise.promise();
    long deadline = System.nanoTime() + options.timeout().toNanos();
    poll(run, what, condition, deadline, done);
    return done.future();
  }

  /** {@link #until} for a condition that reads files: it runs off the event loop. */
  private Future<Void> untilBlocking(Run run, String what, Callable<Boolean> condition) {
    return until(run, what, () -> blocking(condition));
  }

  private void poll(Run run, String what, Supplier<Future<Boolean>> condition, long deadline, Promise<Void> done) {
    condition.get().onComplete(ar -> {
      if (ar.failed()) {
        done.fail(ar.cause());
      } else if (Boolean.TRUE.equals(ar.result())) {
        done.complete();
      } else if (run.process != null && run.fresh == null) {
        blocking(() -> run.process.alive() ? null : run.process.exit() + " before " + what + ": " + logTail(run))
            .onComplete(ended -> {
              if (ended.failed()) {
                done.fail(ended.cause());
              } else if (ended.result() != null) {
                done.fail(new IllegalStateException("the new QEMU exited with " + ended.result()));
              } else {
                next(run, what, condition, deadline, done);
              }
            });
      } else {
        next(run, what, condition, deadline, done);
      }
    });
  }

  private void next(Run run, String what, Supplier<Future<Boolean>> condition, long deadline, Promise<Void> done) {
    if (System.nanoTime() > deadline) {
      done.fail(SidecarException.of(Kind.TIMEOUT, "live-update-timeout", "VM " + run.vm + ": waited "
          + options.timeout().toSeconds() + " s for " + what).vm(run.vm).build());
    } else {
      vertx.setTimer(POLL.toMillis(), t -> poll(run, what, condition, deadline, done));
    }
  }

  private String logTail(Run run) {
    try {
      String log = host.tail(run.log(), 400);
      return log.isEmpty() ? "it printed nothing" : log;
    } catch (IOException e) {
      return "its log " + run.log() + " cannot be read (" + e.getMessage() + ")";
    }
  }

  private <T> Future<T> blocking(Callable<T> work) {
    return vertx.executeBlocking(work, false);
  }

  private static <T> Future<T> refused(Run run, String why) {
    return Future.failedFuture(refusal(run, why));
  }

  private static SidecarException refusal(Run run, String why) {
    return SidecarException.of(Kind.CONFLICT, "live-update-refused", "VM " + run.vm + " cannot be live-updated: "
        + why).vm(run.vm).fix("see docs/live-update.md for what a VM needs at launch").build();
  }

  private static ObjectNode data(Run run) {
    return JsonNodeFactory.instance.objectNode().put("vm", run.vm).put("oldPid", run.oldPid);
  }

  private void publish(Run run, String type, ObjectNode data) {
    events.publish(run.vm, type, run.opId, data);
  }
}
