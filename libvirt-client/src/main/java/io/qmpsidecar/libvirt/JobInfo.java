package io.qmpsidecar.libvirt;

import java.util.Map;
import java.util.Optional;

/**
 * A domain job as {@code virDomainGetJobStats} (or the job-completed event) describes it: the
 * job type and libvirt's typed statistics by their libvirt names ({@code time_elapsed},
 * {@code data_total}, {@code memory_iteration}, {@code operation}, ...). Values are
 * {@link Long}, {@link Double}, {@link Boolean} or {@link String}.
 */
public record JobInfo(Type type, Map<String, Object> stats) {
  /** libvirt's {@code virDomainJobType}. */
  public enum Type {
    NONE, BOUNDED, UNBOUNDED, COMPLETED, FAILED, CANCELLED;

    public static Type of(int value) {
      Type[] all = values();
      return value >= 0 && value < all.length ? all[value] : NONE;
    }
  }

  /** libvirt's {@code virDomainJobOperation}, as the {@code operation} statistic holds it. */
  public enum Operation {
    UNKNOWN, START, SAVE, RESTORE, MIGRATION_IN, MIGRATION_OUT, SNAPSHOT, SNAPSHOT_REVERT, DUMP,
    BACKUP, SNAPSHOT_DELETE;

    public static Operation of(long value) {
      Operation[] all = values();
      return value >= 0 && value < all.length ? all[(int) value] : UNKNOWN;
    }
  }

  public JobInfo {
    stats = Map.copyOf(stats);
  }

  /** A numeric statistic, if libvirt reported it. */
  public Optional<Long> number(String field) {
    Object v = stats.get(field);
    return v instanceof Long l ? Optional.of(l) : Optional.empty();
  }

  /** The job's operation, if libvirt reported it. */
  public Optional<Operation> operation() {
    return number("operation").map(Operation::of);
  }

  /** Milliseconds since the job started ({@code time_elapsed}). */
  public Optional<Long> timeElapsedMs() {
    return number("time_elapsed");
  }

  /** The migration iteration count ({@code memory_iteration}). */
  public Optional<Long> memoryIteration() {
    return number("memory_iteration");
  }
}
