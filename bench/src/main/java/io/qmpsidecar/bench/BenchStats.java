package io.qmpsidecar.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Percentiles and medians shared by the benchmarks. */
final class BenchStats {
  private BenchStats() {}

  /** The {@code p}th percentile (nearest rank) of nanosecond samples, in microseconds. */
  static double percentileMicros(long[] nanos, double p) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[Math.max(0, Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1))] / 1000.0;
  }

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }
}
