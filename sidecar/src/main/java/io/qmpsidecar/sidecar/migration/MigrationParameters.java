package io.qmpsidecar.sidecar.migration;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Migration parameters a request may set; -1 leaves QEMU's value unchanged.
 *
 * @param maxBandwidthBytesPerSecond QEMU's {@code max-bandwidth}, in bytes per second
 * @param downtimeLimitMs QEMU's {@code downtime-limit}, in milliseconds
 */
public record MigrationParameters(long maxBandwidthBytesPerSecond, long downtimeLimitMs) {
  public static final MigrationParameters UNCHANGED = new MigrationParameters(-1, -1);

  public MigrationParameters {
    if (maxBandwidthBytesPerSecond == 0 || maxBandwidthBytesPerSecond < -1) {
      throw new IllegalArgumentException("max bandwidth must be positive (bytes/s) or -1, got " + maxBandwidthBytesPerSecond);
    }
    if (downtimeLimitMs < -1) {
      throw new IllegalArgumentException("downtime limit must be >= 0 ms or -1, got " + downtimeLimitMs);
    }
  }

  public boolean isEmpty() {
    return maxBandwidthBytesPerSecond == -1 && downtimeLimitMs == -1;
  }

  /** The {@code migrate-set-parameters} arguments. */
  ObjectNode toQmp() {
    ObjectNode args = JsonNodeFactory.instance.objectNode();
    if (maxBandwidthBytesPerSecond != -1) {
      args.put("max-bandwidth", maxBandwidthBytesPerSecond);
    }
    if (downtimeLimitMs != -1) {
      args.put("downtime-limit", downtimeLimitMs);
    }
    return args;
  }
}
