package io.qmpsidecar.sidecar.migration;

import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.sidecar.testing.TestVertx;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The migration ITs' rig: one Vert.x per class; per test two QEMUs of one version
 * ({@link TwoQemus}), a coordinator between them and a listener recording its events, the QEMUs
 * stopped after the test. {@code @RegisterExtension static final MigrationRig RIG = new MigrationRig();}
 */
final class MigrationRig implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
  private final TestVertx vertx = new TestVertx();
  private TwoQemus qemus;
  private MigrationCoordinator coordinator;
  private RecordingListener events;

  @Override
  public void beforeAll(ExtensionContext context) {
    vertx.beforeAll(context);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    vertx.afterAll(context);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    events = new RecordingListener();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (qemus != null) {
      qemus.close();
      qemus = null;
    }
    coordinator = null;
  }

  /** Starts the two QEMUs in {@code dir} and a coordinator polling as {@code monitor} says. */
  TwoQemus start(QemuBinary binary, Path dir, MigrationMonitorOptions monitor, List<String> extra) {
    qemus = new TwoQemus(vertx.get(), binary, dir, extra);
    coordinator = new MigrationCoordinator(vertx.get(), new MigrationDriver(),
        MigrationCoordinatorOptions.defaults().withDetachTimeout(Duration.ofSeconds(10))
            .withAttachRetryDelay(Duration.ofMillis(100)).withMonitor(monitor), events);
    return qemus;
  }

  /** The coordinator's usual polling for these tests: every 50 ms. */
  static MigrationMonitorOptions fastPolling() {
    return MigrationMonitorOptions.defaults().withPollInterval(Duration.ofMillis(50));
  }

  Vertx vertx() {
    return vertx.get();
  }

  TwoQemus qemus() {
    return qemus;
  }

  MigrationCoordinator coordinator() {
    return coordinator;
  }

  RecordingListener events() {
    return events;
  }
}
