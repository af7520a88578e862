package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** How {@code migrate --follow} draws progress: a bar redrawn in place on a terminal, plain lines otherwise. */
class MigrateProgressTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode run(String state, String phase, long transferred, long remaining, long total) throws Exception {
    return JSON.readTree("{\"vm\":\"src\",\"destination\":\"dst\",\"state\":\"" + state + "\",\"source\":{\"phase\":\""
        + phase + "\",\"progress\":{\"transferredBytes\":" + transferred + ",\"remainingBytes\":" + remaining
        + ",\"totalBytes\":" + total + "}}}");
  }

  @Test
  void plainLinesOnlyWhenSomethingChanged() throws Exception {
    StringWriter out = new StringWriter();
    MigrateProgress progress = new MigrateProgress(new PrintWriter(out), false);
    progress.show(run("PREFLIGHT", "NONE", -1, -1, -1));
    progress.show(run("MIGRATING", "PRECOPY", 16 << 20, 48 << 20, 64 << 20));
    progress.show(run("MIGRATING", "PRECOPY", 16 << 20, 48 << 20, 64 << 20));
    progress.show(run("COMPLETED", "COMPLETED", 70 << 20, 0, 64 << 20));
    assertThat(out.toString().lines()).containsExactly(
        "PREFLIGHT",
        "MIGRATING precopy 25% of 64.0 MiB (16.0 MiB sent)",
        "COMPLETED completed 100% of 64.0 MiB (70.0 MiB sent)");
  }

  @Test
  void aBarIsRedrawnInPlace() throws Exception {
    StringWriter out = new StringWriter();
    MigrateProgress progress = new MigrateProgress(new PrintWriter(out), true);
    progress.show(run("MIGRATING", "PRECOPY", 32 << 20, 32 << 20, 64 << 20));
    assertThat(out.toString()).isEqualTo("\r[###############...............] MIGRATING precopy 50% of 64.0 MiB"
        + " (32.0 MiB sent)\u001b[K");
    assertThat(MigrateProgress.bar(run("COMPLETED", "COMPLETED", -1, -1, -1))).isEqualTo("[" + "#".repeat(30) + "]");
  }

  @Test
  void bytesInBinaryUnits() {
    assertThat(MigrateProgress.bytes(-1)).isEqualTo("-");
    assertThat(MigrateProgress.bytes(512)).isEqualTo("512 B");
    assertThat(MigrateProgress.bytes(1536)).isEqualTo("1.5 KiB");
    assertThat(MigrateProgress.bytes(3L << 30)).isEqualTo("3.0 GiB");
  }
}
