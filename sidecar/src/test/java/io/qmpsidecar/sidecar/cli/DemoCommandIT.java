package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.regex.Pattern;

/** `qmp-sidecar demo` end to end, once per QEMU: the README's main job. */
class DemoCommandIT {

  @QemuTest
  void theDemoTellsTheWholeStoryAndExitsZero(QemuBinary binary) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute("demo", "--qemu", binary.path().toString());
    String text = out.toString();
    assertThat(code).as("exit code; stderr: %s%nstdout: %s", err, text).isZero();
    assertThat(text).containsSubsequence("[1/6]", "[2/6]", "vm src: ready, QEMU " + binary.version(),
        "[3/6] attach", "-> attached to root port", "[4/6] migrate", "-> migration COMPLETED", "[5/6] detach",
        "device.deleted {vm=dst, device=dpu-nic1", "op.completed", "[6/6] shutting down", "demo: done");
    List<String> lifecycle = text.lines().filter(l -> l.contains("DPU <-")).map(l -> l.replaceAll("#\\d+ ", "")).toList();
    assertThat(lifecycle.stream().filter(l -> l.contains("event=STOP")).count()).as("STOP told once").isEqualTo(1);
    assertThat(Pattern.compile("DPU <- #(\\d+)").matcher(text).results().map(m -> Long.parseLong(m.group(1))).toList())
        .as("the DPU receives every notification once, in order").isSorted().doesNotHaveDuplicates();
  }
}
