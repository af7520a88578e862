package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.Test;

class EventLoopsOptionTest {

  @Test
  void unsetIsVertxsDefaultAndANumberIsTaken() {
    assertThat(Sidecar.eventLoops(null)).isEqualTo(VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE);
    assertThat(Sidecar.eventLoops("1")).isEqualTo(1);
    assertThat(Sidecar.eventLoops(" 3 ")).isEqualTo(3);
  }

  @Test
  void anythingButAPositiveNumberIsRefusedNamingTheOption() {
    for (String bad : new String[] {"0", "-2", "two", ""}) {
      assertThatThrownBy(() -> Sidecar.eventLoops(bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("-Dqmpsidecar.eventLoops=" + bad + " is not a positive number");
    }
  }
}
