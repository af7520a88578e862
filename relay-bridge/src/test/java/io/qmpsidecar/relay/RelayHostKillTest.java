package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.HostProcessMain;
import io.qmpsidecar.relay.testing.LinkProxy;
import io.qmpsidecar.relay.testing.RelayPair;
import io.qmpsidecar.relay.testing.RelayStores;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sidecar's JVM is killed with SIGKILL and restarted: nothing stored is lost or redone. */
class RelayHostKillTest {

  /** One child JVM running {@link HostProcessMain}, its output read on a thread into a bounded queue. */
  private static final class Child {
    final Process process;
    final BlockingQueue<String> lines = new ArrayBlockingQueue<>(10_000);
    final List<String> seen = new CopyOnWriteArrayList<>();

    Child(int port, Path store, int storeBatchSize) throws IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> command = new ArrayList<>(List.of(java, "-Xmx128m", "-XX:+UseSerialGC"));
      command.addAll(inherited("org.sqlite.tmpdir", "vertx.cacheDirBase"));
      command.addAll(List.of("-cp", System.getProperty("java.class.path"), HostProcessMain.class.getName(),
          String.valueOf(port), store.toString(), String.valueOf(storeBatchSize)));
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = r.readLine(); line != null; line = r.readLine()) {
            seen.add(line);
            lines.offer(line);
          }
        } catch (IOException e) {
          lines.offer("output closed: " + e.getMessage());
        }
      }, "child-output");
      reader.setDaemon(true);
      reader.start();
    }

    /**
     * This JVM's settings of where the child leaves files when it is killed (sqlite-jdbc's copy of
     * its native library, Vert.x's file cache): the build's, not the temp directory. A property
     * this JVM does not set is left to its library's default.
     */
    private static List<String> inherited(String... properties) {
      return Stream.of(properties).filter(p -> System.getProperty(p) != null)
          .map(p -> "-D" + p + "=" + System.getProperty(p)).toList();
    }

    String expect(String prefix) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        String line = lines.poll(1, TimeUnit.SECONDS);
        if (line != null && line.startsWith(prefix)) {
          return line;
        }
      }
      throw new AssertionError("child printed no line starting with '" + prefix + "' within 60 s; saw " + seen);
    }

    void send(String command) throws IOException {
      OutputStream in = process.getOutputStream();
      in.write((command + "\n").getBytes(StandardCharsets.UTF_8));
      in.flush();
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();
      assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("child died after SIGKILL").isTrue();
    }
  }

  @TempDir Path dir;
  RelayPair pair;
  Child child;

  @AfterEach
  void cleanUp() throws InterruptedException {
    if (child != null && child.process.isAlive()) {
      child.kill();
    }
    pair.close();
  }

  @Test
  void unackedNotificationsAreReplayedAndOpOutcomesKeptAfterKill9() throws Exception {
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults());
    LinkProxy proxy = new LinkProxy(pair.vertx, pair.dpu.actualPort());
    int port = proxy.start(0);
    Path store = dir.resolve("relay.db");
    Map<String, Object> attach = Map.of("opId", "op-1", "vm", "vm1", "bdf", "0000:03:00.1", "deviceId", "dpu-a");

    child = new Child(port, store, RelayHostOptions.DEFAULT_STORE_BATCH_SIZE);
    long firstEpoch = Long.parseLong(child.expect("started ").substring(8));
    pair.awaitConnected();
    Map<String, Object> firstAnswer = Await.result(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, attach));
    child.expect("executed attach op-1");
    pair.awaitReceived(3);
    child.send("emit 20");
    child.expect("stored 23");
    pair.awaitReceived(23);
    proxy.stop();
    child.send("emit 30");
    child.expect("stored 53");
    child.kill();

    proxy.start(port);
    child = new Child(port, store, RelayHostOptions.DEFAULT_STORE_BATCH_SIZE);
    long secondEpoch = Long.parseLong(child.expect("started ").substring(8));
    List<ReceivedNotification> got = pair.awaitReceived(53).subList(0, 53);
    Map<String, Object> repeated = Await.result(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, attach));
    Await.result(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH,
        Map.of("opId", "op-2", "vm", "vm1", "bdf", "0000:03:00.2", "deviceId", "dpu-b")));
    child.expect("executed attach op-2");
    List<ReceivedNotification> after = pair.awaitReceived(57).subList(53, 57);
    child.send("emit 1");
    String stored = child.expect("stored ");

    assertThat(got).extracting(ReceivedNotification::seq)
        .containsExactlyElementsOf(LongStream.rangeClosed(1, 53).boxed().toList());
    assertThat(got).extracting(ReceivedNotification::method).startsWith("op.progress", "op.progress", "op.completed");
    assertThat(got).filteredOn(n -> n.method().equals(RelayMethods.VM_LIFECYCLE))
        .extracting(n -> n.params().get("event")).containsExactlyElementsOf(
            LongStream.rangeClosed(1, 50).mapToObj(i -> (Object) ("E" + i)).toList());
    assertThat(repeated).isEqualTo(firstAnswer);
    assertThat(child.seen).doesNotContain("executed attach op-1")
        .as("op-1's op.completed was stored before the kill: nothing to resume").noneMatch(l -> l.startsWith("resumed"));
    assertThat(after.get(0).method()).as("the killed run's unused reservation (54 to 65,536) is skipped;"
        + " a snapshot stands in for what those numbers may have told").isEqualTo(RelayMethods.STATE_SNAPSHOT);
    assertThat(after).extracting(ReceivedNotification::seq).containsExactly(65_536L, 65_537L, 65_538L, 65_539L);
    assertThat(stored).isEqualTo("stored 65540");
    assertThat(secondEpoch).isGreaterThan(firstEpoch);
  }

  /**
   * The DPU's ack is stored with the outbox's next commit, so a host killed without closing has it.
   * The DPU acks after every third notification and otherwise waits ten minutes: the fourth stays
   * unacknowledged, and only its commit can have stored the ack of the third (closing, the other
   * way, never happens here).
   */
  @Test
  void theDpusAckIsStoredWithTheNextNotificationsCommit() throws Exception {
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults().withAckEvery(3).withAckDelay(Duration.ofMinutes(10)));
    Path store = dir.resolve("relay.db");

    child = new Child(pair.dpu.actualPort(), store, RelayHostOptions.DEFAULT_STORE_BATCH_SIZE);
    child.expect("started ");
    pair.awaitConnected();
    child.send("emit 3");
    child.expect("stored 3");
    pair.awaitReceived(3);
    Await.until("the host to have the DPU's ack of 3", () -> unacked() == 0);
    child.send("emit 1");
    child.expect("stored 4");
    child.send("unacked");
    String unackedAtKill = child.expect("unacked ");
    child.kill();

    assertThat(unackedAtKill).isEqualTo("unacked 1");
    assertThat(RelayStores.meta(store, "last_acked")).isEqualTo(3);
  }

  private long unacked() {
    try {
      child.send("unacked");
      return Long.parseLong(child.expect("unacked ").substring(8));
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("could not ask the child for its unacknowledged count", e);
    }
  }

  /**
   * Notifications are sent before they are stored: the DPU has some the killed host never stored.
   * The restarted host never reuses their numbers; a snapshot stands in for them, and nothing
   * reaches the DPU twice.
   */
  @Test
  void notificationsSentButNotStoredAreNeverRenumberedAfterKill9() throws Exception {
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults());
    LinkProxy proxy = new LinkProxy(pair.vertx, pair.dpu.actualPort());
    int port = proxy.start(0);
    Path store = dir.resolve("relay.db");
    int sent = 20_000;

    child = new Child(port, store, 1);
    child.expect("started ");
    pair.awaitConnected();
    child.send("send " + sent);
    pair.awaitReceived(sent, Duration.ofMinutes(2));
    child.kill();
    proxy.stop();
    long storedAtKill = RelayStores.meta(store, "last_seq");

    child = new Child(port, store, RelayHostOptions.DEFAULT_STORE_BATCH_SIZE);
    child.expect("started ");
    child.send("unacked");
    long unackedAtStart = Long.parseLong(child.expect("unacked ").substring(8));
    proxy.start(port);
    child.send("emit 5");
    String stored = child.expect("stored ");
    List<ReceivedNotification> got = pair.awaitReceived(sent + 6);

    assertThat(storedAtKill).as("one commit per notification: the DPU had them before the store").isLessThan(sent);
    assertThat(unackedAtStart).as("stored entries the DPU's ack had not yet reached the store for; skipped"
        + " numbers are not notifications").isBetween(0L, storedAtKill);
    assertThat(got.subList(0, sent)).extracting(ReceivedNotification::seq)
        .containsExactlyElementsOf(LongStream.rangeClosed(1, sent).boxed().toList());
    assertThat(got.get(sent).method()).isEqualTo(RelayMethods.STATE_SNAPSHOT);
    assertThat(got.get(sent).seq()).as("the killed run's whole reservation is skipped").isEqualTo(65_536L);
    assertThat(got.subList(sent + 1, sent + 6)).extracting(ReceivedNotification::seq)
        .containsExactly(65_537L, 65_538L, 65_539L, 65_540L, 65_541L);
    assertThat(got.subList(sent + 1, sent + 6)).extracting(n -> n.params().get("event"))
        .containsExactly("E1", "E2", "E3", "E4", "E5");
    assertThat(stored).isEqualTo("stored 65541");
    assertThat(got).hasSize(sent + 6);
  }
}
