package io.qmpsidecar.relay.impl;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpResult;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.LogCapture;
import io.qmpsidecar.relay.testing.RelayPair;
import io.vertx.core.Future;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outbox's store fails its commits while the disk is full, for real: the store lives on a
 * 1 MiB tmpfs that the test fills (so it runs as root, as the suite does, and fails without the
 * right to mount). What docs/relay-protocol.md promises ("Sent, then stored"): a notification is
 * sent before it is stored; an op.completed is sent only once stored; a failed commit is retried
 * every second with the numbers it had; nothing is lost once there is room again.
 */
class OutboxDiskFullTest {
  @TempDir Path dir;
  private Path store;

  @AfterEach
  void unmount() throws Exception {
    if (store != null) {
      run("umount", "-l", store.toString());
    }
  }

  @Test
  void aFullDiskHoldsTheOpsEndUntilStoredAndTheRetriedCommitKeepsTheNumbers() throws Exception {
    store = Files.createDirectories(dir.resolve("store"));
    run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", store.toString());
    long plain;
    long end;
    try (LogCapture log = LogCapture.of(Outbox.class); RelayPair pair = RelayPair.plain(store)) {
      pair.awaitConnected();
      long first = Await.result(pair.host.notify(Notification.vmLifecycle("vm1", "before")));
      Await.until("the DPU has the first notification", () -> pair.received.size() == 1);

      fill(store.resolve("filler"));
      Future<Long> plainStored = pair.host.notify(Notification.vmLifecycle("vm1", "disk-full"));
      Future<Long> endStored = pair.host.notify(Notification.opCompleted("op-1", OpResult.detached("vm1", "dpu-1")));
      Await.until("the plain notification reached the DPU before it was stored", () -> pair.received.size() == 2);
      Await.until("two commits failed and were retried", () -> log.messages().stream()
          .filter(m -> m.contains("retrying in " + Outbox.RETRY_MS + " ms")).count() >= 2);
      assertThat(plainStored.isComplete()).as("stored on a full disk").isFalse();
      assertThat(endStored.isComplete()).isFalse();
      assertThat(List.copyOf(pair.received)).extracting(ReceivedNotification::method)
          .as("op.completed waits until it is stored").doesNotContain(RelayMethods.OP_COMPLETED);
      assertThat(log.messages()).anyMatch(m -> m.contains("full") || m.contains("space"));

      Files.delete(store.resolve("filler"));
      plain = Await.result(plainStored);
      end = Await.result(endStored);
      List<ReceivedNotification> received = pair.awaitReceived(3);
      assertThat(plain).as("the number it was sent with").isEqualTo(first + 1).isEqualTo(received.get(1).seq());
      assertThat(end).isEqualTo(plain + 1);
      assertThat(received).extracting(ReceivedNotification::seq).containsExactly(first, plain, end);
      assertThat(received.get(2).method()).isEqualTo(RelayMethods.OP_COMPLETED);
      Await.until("the DPU acknowledged all three", () -> pair.host.unacknowledged() == 0);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + store.resolve("relay.db"));
        ResultSet rs = c.createStatement().executeQuery("SELECT key, value FROM meta")) {
      Map<String, Long> meta = new LinkedHashMap<>();
      while (rs.next()) {
        meta.put(rs.getString(1), rs.getLong(2));
      }
      assertThat(meta).as("the store after the close: what the DPU got and acknowledged, under the same numbers")
          .containsEntry("last_seq", end).containsEntry("last_acked", end);
    }
  }

  private static void fill(Path filler) throws IOException {
    try (OutputStream out = Files.newOutputStream(filler)) {
      byte[] block = new byte[16 * 1024];
      for (int i = 0; i < 128; i++) {
        out.write(block);
      }
      throw new AssertionError("1 MiB of filler fitted on a 1 MiB disk");
    } catch (IOException full) {
      assertThat(full).hasMessageContaining("No space left");
    }
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s (root needed): %s", String.join(" ", command), out).isZero();
  }
}
