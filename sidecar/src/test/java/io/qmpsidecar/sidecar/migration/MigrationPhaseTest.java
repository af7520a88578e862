package io.qmpsidecar.sidecar.migration;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MigrationPhaseTest {

  @Test
  void foldsQemuStatuses() {
    assertThat(MigrationPhase.of("setup")).isEqualTo(MigrationPhase.SETUP);
    assertThat(MigrationPhase.of("active")).isEqualTo(MigrationPhase.PRECOPY);
    assertThat(MigrationPhase.of("pre-switchover")).isEqualTo(MigrationPhase.SWITCHOVER);
    assertThat(MigrationPhase.of("device")).isEqualTo(MigrationPhase.SWITCHOVER);
    assertThat(MigrationPhase.of("wait-unplug")).isEqualTo(MigrationPhase.WAIT_UNPLUG);
    assertThat(MigrationPhase.of("postcopy-paused")).isEqualTo(MigrationPhase.POSTCOPY);
    assertThat(MigrationPhase.of("cancelling")).isEqualTo(MigrationPhase.CANCELLING);
    assertThat(MigrationPhase.of("none")).isEqualTo(MigrationPhase.NONE);
  }

  @Test
  void onlyCompletedFailedAndCancelledAreTerminal() {
    assertThat(MigrationPhase.values()).filteredOn(MigrationPhase::isTerminal)
        .containsExactly(MigrationPhase.COMPLETED, MigrationPhase.FAILED, MigrationPhase.CANCELLED);
  }

  @Test
  void strategiesHaveTheirWireNames() {
    assertThat(Strategy.of("unplug-replug")).isEqualTo(Strategy.UNPLUG_REPLUG);
    assertThat(Strategy.VFIO_MIGRATION.wireName()).isEqualTo("vfio-migration");
  }
}
