package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Vertx;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs coordinated migrations: preflight, destination preparation, each function's strategy,
 * {@code migrate}, and either the finishing steps or a rollback to a running source VM with its
 * functions attached. At most one coordinated migration per source VM runs at a time.
 */
public final class MigrationCoordinator {
  private final Vertx vertx;
  private final MigrationDriver driver;
  private final MigrationCoordinatorOptions options;
  private final MigrationListener listener;
  private final Set<String> running = ConcurrentHashMap.newKeySet();

  /** @param listener receives every event of every run (relay and event stream); must not block */
  public MigrationCoordinator(Vertx vertx, MigrationDriver driver, MigrationCoordinatorOptions options,
      MigrationListener listener) {
    this.vertx = vertx;
    this.driver = driver;
    this.options = options;
    this.listener = listener;
  }

  /**
   * Starts a coordinated migration of {@code source.vm()}.
   *
   * @param destination the destination QEMU (started with {@code -incoming defer}) when this
   *     sidecar drives it too, else null (the destination's sidecar prepares it)
   * @return the running migration; its {@link CoordinatedMigration#result()} says how it ended
   * @throws io.qmpsidecar.sidecar.failure.SidecarException {@code migration-refused} when a coordinated migration of the VM is already running
   */
  public CoordinatedMigration start(MigrationEndpoint source, MigrationEndpoint destination, MigrationRequest request) {
    if (!running.add(source.vm())) {
      throw MigrationFailures.refused(source.vm(), List.of(),
          "a coordinated migration of " + source.vm() + " is already running; wait for its result or cancel it");
    }
    CoordinatedMigration run = new CoordinatedMigration(vertx, driver, options, listener, source, destination, request);
    run.result().onComplete(r -> running.remove(source.vm()));
    run.run();
    return run;
  }
}
