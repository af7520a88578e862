package io.qmpsidecar.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class OptionsTest {

  @Test
  void addressesParseAsQemuWritesThem() {
    assertThat(QmpAddress.parse("unix:/run/qemu/vm1.qmp")).isEqualTo(QmpAddress.unix(Path.of("/run/qemu/vm1.qmp")));
    assertThat(QmpAddress.parse("/run/vm.qmp").isUnix()).isTrue();
    assertThat(QmpAddress.parse("tcp:127.0.0.1:4444")).isEqualTo(QmpAddress.tcp("127.0.0.1", 4444));
    assertThat(QmpAddress.parse("tcp:[::1]:4444")).isEqualTo(QmpAddress.tcp("::1", 4444));
    assertThat(QmpAddress.tcp("::1", 4444).toString()).isEqualTo("tcp:[::1]:4444");
    assertThatThrownBy(() -> QmpAddress.parse("tcp:host")).hasMessageContaining("tcp:HOST:PORT");
    assertThatThrownBy(() -> QmpAddress.parse("tcp:host:x")).hasMessageContaining("not a number");
    assertThatThrownBy(() -> QmpAddress.parse("ws://x")).hasMessageContaining("unix:PATH or tcp:HOST:PORT");
  }

  @Test
  void defaultsAreTheDocumentedConstants() {
    QmpClientOptions o = QmpClientOptions.of(QmpAddress.parse("/x"));
    assertThat(o.maxInFlight()).isEqualTo(8);
    assertThat(o.maxLineBytes()).isEqualTo(16 * 1024 * 1024);
    assertThat(o.enableOob()).isTrue();
    assertThat(o.reconnect().enabled()).isFalse();
    assertThat(o.withCommandTimeout(Duration.ofSeconds(1)).commandTimeout()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void invalidOptionsNameTheField() {
    QmpClientOptions o = QmpClientOptions.of(QmpAddress.parse("/x"));
    assertThatThrownBy(() -> o.withMaxInFlight(0)).hasMessageContaining("maxInFlight");
    assertThatThrownBy(() -> o.withMaxLineBytes(1000)).hasMessageContaining("maxLineBytes");
    assertThatThrownBy(() -> o.withCommandTimeout(Duration.ZERO)).hasMessageContaining("commandTimeout");
  }

  @Test
  void backoffGrowsToItsCapAndJitterStaysInItsBand() {
    ReconnectPolicy p = ReconnectPolicy.FOREVER;
    assertThat(p.baseDelay(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(p.baseDelay(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(p.baseDelay(5)).isEqualTo(Duration.ofMillis(1600));
    assertThat(p.baseDelay(30)).isEqualTo(Duration.ofSeconds(10));
    assertThat(p.delay(3, 0.0)).isEqualTo(Duration.ofMillis(320));
    assertThat(p.delay(3, 0.5)).isEqualTo(Duration.ofMillis(400));
    assertThat(p.delay(3, 0.999)).isBetween(Duration.ofMillis(479), Duration.ofMillis(480));
    assertThatThrownBy(() -> p.withMaxDelay(Duration.ofMillis(1))).hasMessageContaining("maxDelay");
  }
}
