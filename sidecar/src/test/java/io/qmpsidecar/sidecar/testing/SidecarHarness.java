package io.qmpsidecar.sidecar.testing;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The sidecar's integration tests' one fixture: register it with {@code @RegisterExtension
 * static final SidecarHarness harness = new SidecarHarness();}. Each test gets its own directory,
 * the real QEMUs it starts, the sidecars it starts and an API client; all of it is stopped and
 * removed after the test, in the reverse order it was made. One Vert.x for the clients serves
 * the whole class.
 */
public final class SidecarHarness implements BeforeEachCallback, AfterEachCallback, AfterAllCallback {
  /** The longest a sidecar may take to start. */
  public static final Duration START = Duration.ofSeconds(20);

  private Vertx vertx;
  private Path dir;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    dir = Files.createTempDirectory("sidecar-it-");
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    Exception first = null;
    while (!cleanup.isEmpty()) {
      try {
        cleanup.pop().close();
      } catch (Exception e) {
        first = first == null ? e : first;
      }
    }
    deleteTree(dir);
    if (first != null) {
      throw first;
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (vertx != null) {
      result(vertx.close());
      vertx = null;
    }
  }

  /** The test's own directory, removed after it. */
  public Path dir() {
    return dir;
  }

  /** The clients' Vert.x, shared by the class. */
  public synchronized Vertx vertx() {
    if (vertx == null) {
      vertx = Vertx.vertx();
    }
    return vertx;
  }

  /** A configuration whose API socket, state and proxy sockets are in the test's directory. */
  public TestConfig config() {
    return new TestConfig(dir);
  }

  /** A QEMU in qtest mode with {@code rootPorts} hot-pluggable root ports, killed after the test. */
  public QemuProcess qemu(QemuBinary binary, String name, int rootPorts, String... extra) {
    return track(QemuProcess.startQtest(binary, dir, name, rootPorts, extra));
  }

  /** A running sidecar, stopped after the test. */
  public Sidecar start(TestConfig config) throws Exception {
    Sidecar sidecar = Sidecar.start(config.build(), START);
    cleanup.push(sidecar::stop);
    return sidecar;
  }

  /** {@link #start}, then waits until {@code /readyz} answers 200 (every VM connected). */
  public Sidecar startReady(TestConfig config) throws Exception {
    Sidecar sidecar = start(config);
    ApiTestClient api = api(config);
    Await.until("the sidecar is ready", () -> api.call(HttpMethod.GET, "/readyz", null).status() == 200);
    return sidecar;
  }

  /**
   * Nothing runs a guest in qtest mode: this stand-in answers each pending unplug of every VM the
   * way a guest's PCIe hotplug driver would, here with a {@code system_reset} through the API.
   */
  public void standInGuest(Sidecar sidecar, TestConfig config) {
    ApiTestClient client = api(config);
    EventSubscription sub = sidecar.events().subscribe(e -> e.type().equals(EventTypes.DETACH_PENDING), 64,
        e -> client.send(client.options(HttpMethod.POST, "/v1/vms/" + e.vm() + "/qmp"), "{\"execute\":\"system_reset\"}"));
    track(sub::cancel);
  }

  /** A client of the API socket of {@code config}. */
  public ApiTestClient api(TestConfig config) {
    return new ApiTestClient(vertx(), config.apiSocket());
  }

  /** A client of the API socket in the test's directory (the default of {@link #config()}). */
  public ApiTestClient api() {
    return new ApiTestClient(vertx(), dir.resolve("api.sock"));
  }

  /** Closes {@code resource} after the test, before what was made earlier. */
  public <T extends AutoCloseable> T track(T resource) {
    cleanup.push(resource);
    return resource;
  }

  private static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
