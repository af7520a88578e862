package io.qmpsidecar.sidecar.migration;

import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Future;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Issues the migration commands of either end: destination preparation, source preflight,
 * {@code migrate}, {@code migrate_cancel} and parameters. Stateless; QEMU's refusals fail the
 * futures with {@link io.qmpsidecar.sidecar.failure.Failures#qemuRefused} keeping QEMU's class and text.
 */
public final class MigrationDriver {
  /** URI schemes allowed by default: never {@code exec:}, {@code file:} or {@code fd:}. */
  public static final Set<String> DEFAULT_URI_SCHEMES = Set.of("tcp", "unix", "rdma");

  private final Set<String> allowedSchemes;

  public MigrationDriver() {
    this(DEFAULT_URI_SCHEMES);
  }

  /** @param allowedSchemes URI schemes (before the first {@code :}) this driver passes to QEMU */
  public MigrationDriver(Set<String> allowedSchemes) {
    this.allowedSchemes = Set.copyOf(allowedSchemes);
  }

  /** Throws {@code migration-refused} unless the URI's scheme is allowed. */
  public void checkUri(String vm, String uri) {
    int colon = uri.indexOf(':');
    String scheme = colon < 0 ? "" : uri.substring(0, colon).toLowerCase(Locale.ROOT);
    if (!allowedSchemes.contains(scheme)) {
      throw MigrationFailures.refused(vm, List.of(), "migration URI '" + uri + "' is not allowed; use one of "
          + allowedSchemes.stream().sorted().map(s -> s + ":").toList());
    }
  }

  /**
   * Prepares a destination QEMU started with {@code -incoming defer}: sets the capabilities
   * ({@code events} always on) and runs {@code migrate-incoming}.
   */
  public Future<Void> prepareDestination(String vm, QmpConnection destination, String uri, Map<String, Boolean> capabilities) {
    checkUri(vm, uri);
    return MigrationFailures.qemu(vm, destination.migrateSetCapabilities(withEvents(capabilities))
        .compose(v -> destination.migrateIncoming(uri)));
  }

  /**
   * Checks the source before anything changes: no migration active, each function's strategy
   * allows it, no postcopy with VFIO functions that stay attached, and QEMU's
   * {@code blocked-reasons} empty or each naming a function the strategy detaches first. Whether
   * several VFIO functions can migrate together (all must support the P2P states) is QEMU's to
   * know: it reports a blocker that names no device when they cannot.
   *
   * @return completes with the blocker texts that detaching will resolve (to be checked again
   *     after the detach); fails with {@code migration-refused} or
   *     {@code migration-blocked} (QEMU's texts unchanged)
   */
  public Future<List<String>> preflight(String vm, QmpConnection source, MigrationRequest request) {
    checkUri(vm, request.uri());
    for (MigratingFunction f : request.functions()) {
      String why = FunctionStrategy.of(f.strategy()).refusal(f, request);
      if (why != null) {
        return Future.failedFuture(MigrationFailures.refused(vm, List.of(f.deviceId()), why));
      }
    }
    return MigrationFailures.qemu(vm, source.queryMigrate()).compose(info -> {
      if (info.isActive()) {
        return Future.failedFuture(MigrationFailures.refused(vm, List.of(),
            "a migration is already " + info.status() + "; wait for it to end or cancel it"));
      }
      List<String> unresolved = info.blockedReasons().stream()
          .filter(reason -> request.functions().stream().noneMatch(f -> FunctionStrategy.of(f.strategy()).resolves(f, reason)))
          .toList();
      if (!unresolved.isEmpty()) {
        return Future.failedFuture(MigrationFailures.blocked(vm, unresolved));
      }
      return Future.succeededFuture(info.blockedReasons());
    });
  }

  /** Sets the capabilities ({@code events} always on) and parameters, then runs {@code migrate}. */
  public Future<Void> start(String vm, QmpConnection source, MigrationRequest request) {
    checkUri(vm, request.uri());
    Future<Void> caps = source.migrateSetCapabilities(withEvents(request.capabilities()));
    Future<Void> params = caps.compose(v -> setParameters(vm, source, request.parameters()));
    return MigrationFailures.qemu(vm, params.compose(v -> source.migrate(request.uri())));
  }

  /** {@code migrate_cancel}: QEMU moves to {@code cancelling}, then {@code cancelled}. */
  public Future<Void> cancel(String vm, QmpConnection source) {
    return MigrationFailures.qemu(vm, source.migrateCancel());
  }

  /** {@code migrate-set-parameters}; takes effect at once, also during a migration. */
  public Future<Void> setParameters(String vm, QmpConnection connection, MigrationParameters parameters) {
    if (parameters.isEmpty()) {
      return Future.succeededFuture();
    }
    return MigrationFailures.qemu(vm, connection.migrateSetParameters(parameters.toQmp()));
  }

  /** QEMU's {@code blocked-reasons} now (QEMU 6.0+). */
  public Future<List<String>> blockedReasons(String vm, QmpConnection source) {
    return MigrationFailures.qemu(vm, source.queryMigrate()).map(info -> info.blockedReasons());
  }

  private static Map<String, Boolean> withEvents(Map<String, Boolean> capabilities) {
    Map<String, Boolean> all = new HashMap<>(capabilities);
    all.put("events", true);
    return all;
  }
}
