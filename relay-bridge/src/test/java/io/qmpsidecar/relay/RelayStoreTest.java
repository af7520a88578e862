package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.PrefixAuthorizer;
import io.qmpsidecar.relay.testing.RecordingExecutor;
import io.qmpsidecar.relay.testing.RelayPair;
import io.qmpsidecar.relay.testing.RelayStores;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SQLite store: clear errors at start, and what survives a clean restart. */
class RelayStoreTest {

  @TempDir Path dir;
  final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    Await.result(vertx.close());
  }

  private Throwable startFails(Path store) {
    return Await.failure(RelayHost.start(vertx, RelayHostOptions.of("127.0.0.1", 1, "h", store),
        new RecordingExecutor(), new PrefixAuthorizer()));
  }

  @Test
  void fileThatIsNotADatabaseIsReportedAsCorrupt() throws Exception {
    Path store = dir.resolve("relay.db");
    Files.writeString(store, "this is not a SQLite database, it is a text file of some length ".repeat(100));

    Throwable e = startFails(store);

    assertThat(e).isInstanceOf(RelayStoreException.class)
        .hasMessageContaining("corrupt or not a SQLite database").hasMessageContaining("move it aside");
    assertThat(((RelayStoreException) e).path()).isEqualTo(store);
  }

  @Test
  void missingDirectoryIsReported() {
    Throwable e = startFails(dir.resolve("no/such/dir/relay.db"));

    assertThat(e).isInstanceOf(RelayStoreException.class).hasMessageContaining("does not exist");
  }

  @Test
  void storeInUseIsReported() {
    Path store = dir.resolve("relay.db");
    RelayHost first = Await.result(RelayHost.start(vertx, RelayHostOptions.of("127.0.0.1", 1, "h", store),
        new RecordingExecutor(), new PrefixAuthorizer()));

    Throwable e = startFails(store);

    assertThat(e).isInstanceOf(RelayStoreException.class).hasMessageContaining("in use by another process");
    Await.result(first.close());
  }

  /** The other way the ack is stored, with the next notification's commit: {@code RelayHostKillTest}. */
  @Test
  void theDpusAckIsStoredWhenTheHostCloses() throws Exception {
    try (RelayPair pair = RelayPair.plain(dir)) {
      for (int i = 0; i < 3; i++) {
        Await.result(pair.host.notify(Notification.vmLifecycle("vm1", "op-" + i)));
      }
      Await.until("the DPU acknowledged all three", () -> pair.host.unacknowledged() == 0);
    }

    assertThat(RelayStores.meta(dir.resolve("relay.db"), "last_acked")).isEqualTo(3);
  }

  @Test
  void sequenceAndOpOutcomesSurviveACleanRestart() {
    long before;
    Map<String, Object> firstAnswer;
    long firstEpoch;
    Map<String, Object> attach = Map.of("opId", "op-r", "vm", "vm1", "bdf", "0000:03:00.1", "deviceId", "dpu-r");
    try (RelayPair pair = RelayPair.plain(dir)) {
      firstAnswer = Await.result(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, attach));
      before = Await.result(pair.host.notify(Notification.vmLifecycle("vm1", "op-r")));
      firstEpoch = pair.host.epoch();
    }
    try (RelayPair pair = RelayPair.plain(dir)) {
      Map<String, Object> again = Await.result(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, attach));
      long after = Await.result(pair.host.notify(Notification.vmLifecycle("vm1", "op-s")));

      assertThat(again).isEqualTo(firstAnswer);
      assertThat(pair.executor.calls()).doesNotContain("attach op-r");
      assertThat(after).isEqualTo(before + 1);
      assertThat(pair.host.epoch()).isGreaterThan(firstEpoch);
    }
  }
}
