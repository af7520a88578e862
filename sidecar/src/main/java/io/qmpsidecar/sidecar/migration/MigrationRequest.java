package io.qmpsidecar.sidecar.migration;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One coordinated migration.
 *
 * @param uri where the destination listens, e.g. {@code tcp:10.0.0.2:4444}
 * @param functions the DPU functions attached to the VM, each with its strategy
 * @param parameters bandwidth and downtime limit for this migration
 * @param capabilities migration capabilities set on both ends besides {@code events} (always on),
 *     e.g. {@code postcopy-ram}
 * @param timeout how long QEMU may take from {@code migrate} to its end before the coordinator
 *     cancels it
 */
public record MigrationRequest(String uri, List<MigratingFunction> functions, MigrationParameters parameters,
    Map<String, Boolean> capabilities, Duration timeout) {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

  public MigrationRequest {
    Objects.requireNonNull(uri, "uri");
    functions = List.copyOf(functions);
    Objects.requireNonNull(parameters, "parameters");
    capabilities = Map.copyOf(capabilities);
    Objects.requireNonNull(timeout, "timeout");
  }

  /** A request with no functions, unchanged parameters, no extra capabilities and {@link #DEFAULT_TIMEOUT}. */
  public static MigrationRequest to(String uri) {
    return new MigrationRequest(uri, List.of(), MigrationParameters.UNCHANGED, Map.of(), DEFAULT_TIMEOUT);
  }

  public MigrationRequest withFunctions(List<MigratingFunction> list) {
    return new MigrationRequest(uri, list, parameters, capabilities, timeout);
  }

  public MigrationRequest withParameters(MigrationParameters p) {
    return new MigrationRequest(uri, functions, p, capabilities, timeout);
  }

  public MigrationRequest withCapabilities(Map<String, Boolean> caps) {
    return new MigrationRequest(uri, functions, parameters, caps, timeout);
  }

  public MigrationRequest withTimeout(Duration t) {
    return new MigrationRequest(uri, functions, parameters, capabilities, t);
  }

  /** True when a postcopy capability is requested. */
  public boolean postcopy() {
    return capabilities.entrySet().stream().anyMatch(e -> e.getKey().startsWith("postcopy") && e.getValue());
  }
}
