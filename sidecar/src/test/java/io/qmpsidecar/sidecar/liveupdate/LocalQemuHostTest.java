package io.qmpsidecar.sidecar.liveupdate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalQemuHostTest {
  @TempDir
  Path dir;

  @Test
  void theTailStartsAtAWholeCharacterWhenTheCutFallsInsideOne() throws IOException {
    // 23 bytes: "é" is two of them and "€" three.
    Path log = Files.writeString(dir.resolve("qemu.log"), "start\nqemu: é\n€ end\n");
    LocalQemuHost host = new LocalQemuHost();
    assertThat(host.tail(log, 6)).as("two bytes into the euro sign").isEqualTo("end");
    assertThat(host.tail(log, 7)).as("one byte into the euro sign").isEqualTo("end");
    assertThat(host.tail(log, 8)).isEqualTo("€ end");
    assertThat(host.tail(log, 10)).as("one byte into the é").isEqualTo("€ end");
    assertThat(host.tail(log, 11)).isEqualTo("é\n€ end");
    assertThat(host.tail(log, 1000)).isEqualTo("start\nqemu: é\n€ end");
  }

  @Test
  void anEmptyFileHasAnEmptyTail() throws IOException {
    assertThat(new LocalQemuHost().tail(Files.writeString(dir.resolve("empty.log"), ""), 400)).isEmpty();
  }
}
