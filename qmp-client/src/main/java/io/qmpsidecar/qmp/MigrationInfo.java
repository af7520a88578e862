package io.qmpsidecar.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * The reply of {@code query-migrate}. Figures QEMU did not report are -1; {@code raw} keeps the
 * whole reply for fields not modelled here.
 *
 * @param status QEMU's migration status ({@code none} when no migration ran), e.g.
 *     {@code active}, {@code completed}, {@code failed}
 * @param blockedReasons why QEMU would refuse to migrate now (QEMU 6.0+; empty otherwise)
 * @param errorDesc QEMU's error text of a failed migration, or null
 */
public record MigrationInfo(
    String status, List<String> blockedReasons, String errorDesc, long totalTimeMs,
    long downtimeMs, long expectedDowntimeMs, long setupTimeMs, long ramTransferred,
    long ramRemaining, long ramTotal, long dirtyPagesRate, long dirtySyncCount, JsonNode raw) {

  public MigrationInfo {
    blockedReasons = List.copyOf(blockedReasons);
  }

  /** True while QEMU is migrating (any status but none, completed, failed or cancelled). */
  public boolean isActive() {
    return switch (status) {
      case "none", "completed", "failed", "cancelled" -> false;
      default -> true;
    };
  }
}
