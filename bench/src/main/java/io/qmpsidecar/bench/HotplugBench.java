package io.qmpsidecar.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsWriter;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.ops.PolicyGate;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.VmRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Attach and detach latency of the sidecar's operations against real QEMU (qtest mode, an
 * emulated {@code edu} device on one {@code pcie-root-port}) next to the bare QMP commands they
 * wrap, measured alternately in the same run: attach = the whole flow (migration check,
 * placement, policy, {@code device_add}, qom + {@code query-pci} verification, durable store
 * write) vs. a bare {@code device_add}; detach = {@code device_del} and a {@code system_reset}
 * sent 5 ms later (nothing else acks an unplug in qtest mode) until {@code DEVICE_DELETED}, vs.
 * the same two commands bare.
 */
public final class HotplugBench {
  private static final int WARMUP = 3;
  private static final int ROUNDS = 20;
  private static final long RESET_DELAY_MS = 5;

  private HotplugBench() {}

  public static void main(String[] args) throws Exception {
    for (QemuBinary binary : QemuBinaries.all()) {
      run(binary);
    }
  }

  private static void run(QemuBinary binary) throws Exception {
    Path dir = Files.createTempDirectory("hotplug-bench");
    Vertx vertx = Vertx.vertx();
    try (QemuProcess qemu = QemuProcess.startQtest(binary, dir, "bench", 1)) {
      StateStore store = await(StateStore.open(vertx, dir.resolve(StateStore.FILE_NAME)));
      EventStream events = new EventStream(vertx, Clock.systemUTC(), 1024);
      SidecarMetrics metrics = new SidecarMetrics();
      VmRegistry vms = new VmRegistry(vertx, List.of(new SidecarConfig.Vm("vm", qemu.qmpAddress())),
          HotplugOptions.DEFAULT_QUERY_TIMEOUT, events, metrics);
      Promise<QmpConnection> connected = Promise.promise();
      vms.start(null, (vm, c) -> connected.tryComplete(c));
      QmpConnection conn = await(connected.future());
      Operations ops = new Operations(vertx, vms, new PolicyGate(new PolicyEngine(Policies.preset("default"),
          AuditSink.NONE, Clock.systemUTC()), metrics), store, events,
          new SysfsHostPrep(vertx, dir, dir, SysfsWriter.DIRECT), HotplugOptions.defaults(), metrics, 4);
      await(ops.connected("vm", conn));
      events.subscribe(e -> e.type().equals(EventTypes.DETACH_REQUESTED), 16,
          e -> vertx.setTimer(RESET_DELAY_MS, t -> conn.systemReset()));

      long[][] t = new long[4][ROUNDS];
      for (int i = -WARMUP; i < ROUNDS; i++) {
        String id = "s" + (i + WARMUP);
        long a0 = System.nanoTime();
        await(ops.attach(Caller.cli(), new AttachRequest("vm", "edu", null, null, id, null, null, null)));
        long a1 = System.nanoTime();
        DetachOutcome out = await(ops.detach(Caller.cli(), new DetachRequest("vm", id, false, null))).outcome();
        long a2 = System.nanoTime();
        check(out == DetachOutcome.DETACHED, "sidecar detach ended " + out);

        String raw = "r" + (i + WARMUP);
        long b0 = System.nanoTime();
        await(conn.deviceAdd(JsonNodeFactory.instance.objectNode().put("driver", "edu")
            .put("id", raw).put("bus", "rp1")));
        long b1 = System.nanoTime();
        Future<UnplugOutcome> del = conn.deviceDel(raw, Duration.ofSeconds(10));
        vertx.setTimer(RESET_DELAY_MS, x -> conn.systemReset());
        check(await(del) == UnplugOutcome.DELETED, "bare device_del did not complete");
        long b2 = System.nanoTime();
        if (i >= 0) {
          t[0][i] = a1 - a0;
          t[1][i] = b1 - b0;
          t[2][i] = a2 - a1;
          t[3][i] = b2 - b1;
        }
      }
      System.out.printf("%s, %d rounds after %d warm-up, edu on pcie-root-port, qtest mode%n",
          binary, ROUNDS, WARMUP);
      line("attach  sidecar (flow + verify + store)", t[0]);
      line("attach  bare device_add", t[1]);
      line("detach  sidecar (device_del, reset +5 ms, DELETED)", t[2]);
      line("detach  bare device_del, reset +5 ms, DELETED", t[3]);
      System.out.printf("  ratio attach sidecar/bare (median): %.1fx; detach: %.2fx%n",
          median(t[0]) / median(t[1]), median(t[2]) / median(t[3]));
      ops.close();
      await(store.close());
      await(vms.close());
    } finally {
      await(vertx.close());
    }
  }

  private static void line(String what, long[] nanos) {
    System.out.printf("  %-52s median %7.2f ms  p90 %7.2f ms%n", what, median(nanos) / 1e6,
        percentile(nanos, 0.9) / 1e6);
  }

  private static double median(long[] v) {
    return percentile(v, 0.5);
  }

  private static double percentile(long[] v, double p) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s[Math.min(s.length - 1, (int) Math.floor(p * s.length))];
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException(what);
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
