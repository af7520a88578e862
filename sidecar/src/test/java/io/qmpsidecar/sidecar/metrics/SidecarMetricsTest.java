package io.qmpsidecar.sidecar.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
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
}
