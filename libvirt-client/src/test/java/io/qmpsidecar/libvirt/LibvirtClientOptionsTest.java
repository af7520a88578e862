package io.qmpsidecar.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LibvirtClientOptionsTest {
  @Test
  void defaultsAreBounded() {
    LibvirtClientOptions o = LibvirtClientOptions.of("qemu:///system");
    assertThat(o.callTimeout()).isEqualTo(LibvirtClientOptions.DEFAULT_CALL_TIMEOUT);
    assertThat(o.connectTimeout()).isEqualTo(LibvirtClientOptions.DEFAULT_CONNECT_TIMEOUT);
    assertThat(o.maxQueuedCalls()).isEqualTo(LibvirtClientOptions.DEFAULT_MAX_QUEUED_CALLS);
    assertThat(o.qemuMonitorEvents()).isFalse();
    assertThat(o.withCallTimeout(Duration.ofSeconds(2)).withWorkers(1, 1).withQemuMonitorEvents(true))
        .satisfies(c -> {
          assertThat(c.callTimeout()).isEqualTo(Duration.ofSeconds(2));
          assertThat(c.workers()).isEqualTo(1);
          assertThat(c.qemuMonitorEvents()).isTrue();
          assertThat(c.uri()).isEqualTo("qemu:///system");
        });
  }

  @Test
  void refusesWhatCannotWork() {
    LibvirtClientOptions o = LibvirtClientOptions.of("qemu:///system");
    assertThatThrownBy(() -> LibvirtClientOptions.of(" ")).hasMessageContaining("uri must not be blank");
    assertThatThrownBy(() -> o.withCallTimeout(Duration.ZERO)).hasMessageContaining("callTimeout must be positive");
    assertThatThrownBy(() -> o.withWorkers(0, 1)).hasMessageContaining("workers must be 1..64");
    assertThatThrownBy(() -> o.withWorkers(1, 0)).hasMessageContaining("maxQueuedCalls");
    assertThatThrownBy(() -> o.withReconnect(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessageContaining("reconnectMax");
  }

  @Test
  void migrationOptionsCarryLibvirtsFlagBits() {
    MigrationOptions m = MigrationOptions.live().withFlag(MigrationFlag.PEER2PEER).withFlag(MigrationFlag.AUTO_CONVERGE);
    assertThat(m.flagBits()).isEqualTo(1 | 2 | 8192);
    assertThat(m.withMigrateUri("tcp://h").migrateUri()).contains("tcp://h");
    assertThatThrownBy(() -> m.withBandwidthMiBs(-1)).hasMessageContaining("bandwidthMiBs");
  }
}
