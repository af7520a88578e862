package io.qmpsidecar.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Percentiles and medians shared by the benchmarks. */
final class BenchStats {
  private BenchStats() {}

  /** The {@code p}th percentile (nearest rank) of nanosecond samples, in microseconds. */
  static double percentileMicros(long[] nanos, double p) {
    return percentile(nanos, p) / 1000.0;
  }

  /** The {@code p}th percentile (nearest rank) of samples, in their unit. */
  static long percentile(long[] values, double p) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1))];
  }

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }
}
