package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The lean path's parsing of {@code run} sets what picocli sets, and leaves picocli every other form. */
class LeanCliTest {
  private static RunCommand lean(String... args) {
    return LeanCli.daemon(args, Map.of());
  }

  /** The RunCommand picocli builds from the same arguments, through the daemon's command line. */
  private static RunCommand picocli(String... args) {
    CommandLine cli = QmpSidecarCommand.daemonCommandLine();
    CommandLine.ParseResult parsed = cli.parseArgs(args);
    return (RunCommand) parsed.subcommand().commandSpec().userObject();
  }

  private static List<Object> fields(RunCommand run) {
    return List.of(String.valueOf(run.config.file), run.config.sets, run.config.qmp, run.verbose, run.exitWhenReady);
  }

  @Test
  void theUsualFormsSetWhatPicocliSets() {
    List<String[]> lines = List.of(
        new String[] {"run"},
        new String[] {"run", "--config", "/etc/qmp-sidecar/vm1.yaml"},
        new String[] {"run", "-c", "vm1.yaml", "-v"},
        new String[] {"run", "--config=/etc/qmp-sidecar/host.yaml", "--verbose", "--exit-when-ready"},
        new String[] {"run", "--set", "api.socket=/run/a.sock", "--set=stateDir=/var/lib/x", "--qmp", "vm1=unix:/q",
            "--qmp=unix:/r", "--set", "proxy.dir=/run/p"},
        new String[] {"run", "--exit-when-ready", "--qmp", "vm1=unix:/q", "-c", "a b.yaml"});
    for (String[] line : lines) {
      RunCommand lean = lean(line);
      assertThat(lean).as("%s", List.of(line)).isNotNull();
      assertThat(fields(lean)).as("%s", List.of(line)).isEqualTo(fields(picocli(line)));
    }
  }

  @Test
  void everyOtherFormIsLeftToPicocli() {
    List<String[]> lines = List.of(
        new String[] {"run", "--help"},
        new String[] {"run", "-h"},
        new String[] {"run", "-V"},
        new String[] {"run", "--no-such-option"},
        new String[] {"run", "extra"},
        new String[] {"run", "--config"},
        new String[] {"run", "--config", "a.yaml", "--config", "b.yaml"},
        new String[] {"run", "-c", "a.yaml", "--config=b.yaml"},
        new String[] {"run", "-v", "-v"},
        new String[] {"run", "--verbose", "-v"},
        new String[] {"run", "--exit-when-ready", "--exit-when-ready"},
        new String[] {"run", "--set", "--qmp"},
        new String[] {"run", "--set="},
        new String[] {"run", "-c=a.yaml"},
        new String[] {"run", "-vc", "a.yaml"},
        new String[] {"run", "@args.txt"},
        new String[] {"run", "--qmp", "@vm1"},
        new String[] {"run", "--", "--set"},
        new String[] {"run", "--config", "a\0b.yaml"},
        new String[] {"vms"},
        new String[] {});
    for (String[] line : lines) {
      assertThat(lean(line)).as("%s", List.of(line)).isNull();
    }
    assertThat(LeanCli.daemon(new String[] {"run"}, Map.of("QMP_SIDECAR_DEBUG", "1")))
        .as("the stack traces of QMP_SIDECAR_DEBUG=1 come from the full command line").isNull();
  }

  @Test
  void aRepeatedFlagIsAnErrorToPicocliToo() {
    assertThat(catchThrowable(() -> picocli("run", "-v", "-v")))
        .isInstanceOf(CommandLine.OverwrittenOptionException.class);
    assertThat(catchThrowable(() -> picocli("run", "-c", "a.yaml", "-c", "b.yaml")))
        .isInstanceOf(CommandLine.OverwrittenOptionException.class);
  }
}
