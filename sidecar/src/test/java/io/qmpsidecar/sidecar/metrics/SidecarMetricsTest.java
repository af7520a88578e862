package io.qmpsidecar.sidecar.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SidecarMetricsTest {

  @Test
  void commandsQemuDoesNotKnowShareOneLabelAndKnownOnesKeepTheirs() {
    SidecarMetrics metrics = new SidecarMetrics();
    for (int i = 0; i < 50; i++) {
      metrics.qmpCommand("vm1", "no-such-command-" + i, "CommandNotFound", Duration.ofMillis(1));
    }
    metrics.qmpCommand("vm1", "query-status", "ok", Duration.ofMillis(1));
    metrics.qmpCommand("vm1", "query-status", "ok", Duration.ofMillis(2));

    String scrape = metrics.scrape();
    assertThat(scrape).doesNotContain("no-such-command-")
        .contains("qmp_sidecar_qmp_command_seconds_count{command=\"(unknown)\",outcome=\"CommandNotFound\",vm=\"vm1\"} 50")
        .contains("qmp_sidecar_qmp_command_seconds_count{command=\"query-status\",outcome=\"ok\",vm=\"vm1\"} 2");
  }

  @Test
  void theLatencyHistogramHasADozenFixedBuckets() {
    SidecarMetrics metrics = new SidecarMetrics();
    metrics.qmpCommand("vm1", "query-status", "ok", Duration.ofMillis(3));

    List<String> buckets = metrics.scrape().lines().filter(l -> l.startsWith("qmp_sidecar_qmp_command_seconds_bucket"))
        .toList();
    assertThat(buckets).hasSize(SidecarMetrics.LATENCY_BUCKETS.length + 1)
        .contains("qmp_sidecar_qmp_command_seconds_bucket{command=\"query-status\",outcome=\"ok\",vm=\"vm1\",le=\"0.0025\"} 0",
            "qmp_sidecar_qmp_command_seconds_bucket{command=\"query-status\",outcome=\"ok\",vm=\"vm1\",le=\"0.005\"} 1",
            "qmp_sidecar_qmp_command_seconds_bucket{command=\"query-status\",outcome=\"ok\",vm=\"vm1\",le=\"+Inf\"} 1");
  }

  @Test
  void buildInfoAtOnceAndTheJvmOnceBound() {
    try (SidecarMetrics metrics = new SidecarMetrics()) {
      assertThat(metrics.scrape()).contains("qmp_sidecar_build_info{version=\"dev\"} 1").doesNotContain("jvm_");

      metrics.bindJvm();
      assertThat(metrics.scrape()).contains("jvm_memory_used_bytes{", "jvm_threads_live_threads ", "process_cpu_usage ",
          "process_uptime_seconds ", "jvm_gc_");
    }
  }
}
