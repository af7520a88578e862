package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.DeviceInfo;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.OpEnd;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.UnfinishedOp;
import io.qmpsidecar.relay.VmInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A relay host in its own JVM, for the kill -9 tests. Args: DPU port, store path, and optionally
 * the store's batch size (1 makes storing much slower than sending). Prints {@code started <epoch>},
 * {@code executed <call>} for each attach it runs, {@code resumed <opId>} for each operation it
 * reconciles at start; for the stdin command {@code emit N} emits N notifications and prints
 * {@code stored <last seq>}, for {@code send N} emits N and prints {@code emitted N} without
 * waiting for them to be stored, and for {@code unacked} prints {@code unacked <count>}.
 */
public final class HostProcessMain {

  private HostProcessMain() {}

  public static void main(String[] args) throws Exception {
    Vertx vertx = Vertx.vertx();
    RecordingExecutor recording = new RecordingExecutor();
    RequestExecutor printing = new RequestExecutor() {
      @Override
      public Future<OpAccepted> attach(DeviceAttachParams r) {
        System.out.println("executed attach " + r.opId());
        return recording.attach(r);
      }

      @Override
      public Future<OpAccepted> detach(DeviceDetachParams r) {
        return recording.detach(r);
      }

      @Override
      public Future<OpEnd> resume(UnfinishedOp op) {
        System.out.println("resumed " + op.opId());
        return recording.resume(op);
      }

      @Override
      public Future<List<DeviceInfo>> listDevices(String vm) {
        return recording.listDevices(vm);
      }

      @Override
      public Future<List<VmInfo>> listVms() {
        return recording.listVms();
      }

      @Override
      public Future<StateSnapshot> snapshot() {
        return recording.snapshot();
      }
    };
    RelayHostOptions options = RelayHostOptions.of("127.0.0.1", Integer.parseInt(args[0]), RelayPair.HOST_ID,
        Path.of(args[1])).withStoreBatchSize(args.length > 2 ? Integer.parseInt(args[2])
            : RelayHostOptions.DEFAULT_STORE_BATCH_SIZE).withReconnectInitialDelay(Duration.ofMillis(50)).withReconnectMaxDelay(Duration.ofMillis(300));
    RelayHost[] started = new RelayHost[1];
    recording.notifyThrough(n -> started[0].notify(n));
    RelayHost host = Await.result(RelayHost.start(vertx, options, printing, new PrefixAuthorizer()));
    started[0] = host;
    System.out.println("started " + host.epoch());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    int emitted = 0;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.startsWith("emit ")) {
        List<Future<Long>> seqs = new ArrayList<>();
        for (int i = Integer.parseInt(line.substring(5).trim()); i > 0; i--) {
          seqs.add(host.notify(Notification.vmLifecycle("vm1", "E" + ++emitted)));
        }
        long last = 0;
        for (Future<Long> f : seqs) {
          last = Await.result(f);
        }
        System.out.println("stored " + last);
      } else if (line.startsWith("send ")) {
        int count = Integer.parseInt(line.substring(5).trim());
        for (int i = count; i > 0; i--) {
          host.notify(Notification.vmLifecycle("vm1", "E" + ++emitted));
        }
        System.out.println("emitted " + count);
      } else if (line.equals("unacked")) {
        System.out.println("unacked " + host.unacknowledged());
      }
    }
    Await.result(host.close());
    Await.result(vertx.close());
  }
}
