package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** exec's argument parsing, output formats and the exit codes that need no QEMU. */
class ExecCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static final String NO_QUIT = "version: 1\nname: no-quit\nrules:\n  - {id: no-quit, effect: deny, callers: [cli], commands: [quit], reason: keep the VM}\n  - {id: rest, effect: allow, callers: [cli], commands: ['*']}\n";

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  @Test
  void keyValueWordsAreJsonWhenTheyParseElseStrings() throws Exception {
    assertThat(ExecArguments.parse(List.of("path=/machine", "n=1", "on=true", "list=[1,\"a\"]",
        "quoted=\"7\"", "obj={\"a\":null}", "empty="), null)).isEqualTo(JSON.readTree(
            "{\"path\":\"/machine\",\"n\":1,\"on\":true,\"list\":[1,\"a\"],\"quoted\":\"7\","
                + "\"obj\":{\"a\":null},\"empty\":\"\"}"));
  }

  @Test
  void dottedKeysNest() throws Exception {
    assertThat(ExecArguments.parse(List.of("a.b=1", "a.c.d=x", "e=2"), null))
        .isEqualTo(JSON.readTree("{\"a\":{\"b\":1,\"c\":{\"d\":\"x\"}},\"e\":2}"));
  }

  @Test
  void noWordsMeansNoArguments() {
    assertThat(ExecArguments.parse(List.of(), null)).isNull();
  }

  @Test
  void jsonArgumentsMustBeAnObject() throws Exception {
    assertThat(ExecArguments.parse(List.of(), "{\"path\":\"/\"}"))
        .isEqualTo(JSON.readTree("{\"path\":\"/\"}"));
    assertThatThrownBy(() -> ExecArguments.parse(List.of(), "[1]"))
        .hasMessageContaining("must be a JSON object");
    assertThatThrownBy(() -> ExecArguments.parse(List.of(), "{nope"))
        .hasMessageContaining("--json is not valid JSON");
    assertThatThrownBy(() -> ExecArguments.parse(List.of("a=1"), "{}"))
        .hasMessageContaining("not both");
  }

  @Test
  void badWordsAreNamed() {
    assertThatThrownBy(() -> ExecArguments.parse(List.of("novalue"), null))
        .hasMessage("argument 'novalue' is not key=value (e.g. path=/machine, or a.b=1 for nested"
            + " objects)");
    assertThatThrownBy(() -> ExecArguments.parse(List.of("a=1", "a.b=2"), null))
        .hasMessageContaining("'a' already has a value that is not an object");
    assertThatThrownBy(() -> ExecArguments.parse(List.of("a=1", "a=2"), null))
        .hasMessageContaining("sets 'a' a second time");
    assertThatThrownBy(() -> ExecArguments.parse(List.of("a..b=1"), null))
        .hasMessageContaining("empty key segment");
  }

  @Test
  void tablesHaveAColumnPerKeyOrARowPerMember() throws Exception {
    assertThat(ExecOutput.render(JSON.readTree(
        "[{\"name\":\"type\",\"type\":\"string\"},{\"name\":\"realized\",\"type\":\"bool\"}]"),
        ExecOutput.Format.table).lines())
        .containsExactly("name      type", "type      string", "realized  bool");
    assertThat(ExecOutput.render(JSON.readTree("{\"status\":\"running\",\"running\":true}"),
        ExecOutput.Format.table).lines())
        .containsExactly("status   running", "running  true");
    assertThat(ExecOutput.render(JSON.readTree("{}"), ExecOutput.Format.table)).isEqualTo("{}");
  }

  @Test
  void aBadKeyValueWordIsAUsageError() {
    assertThat(run("exec", "--qmp", "unix:/nonexistent", "qom-list", "path")).isEqualTo(2);
    assertThat(err.toString()).contains("argument 'path' is not key=value");
  }

  @Test
  void aBadAddressIsAUsageError() {
    assertThat(run("exec", "--qmp", "http://x", "query-status")).isEqualTo(2);
    assertThat(err.toString()).contains("must be unix:PATH or tcp:HOST:PORT");
  }

  @Test
  void aDeniedCommandIsNeverSent(@TempDir Path dir) throws Exception {
    Path policy = Files.writeString(dir.resolve("p.yaml"), NO_QUIT);
    // The socket does not exist: exit 3, not 4, shows that the policy decided first.
    assertThat(run("exec", "--qmp", "unix:/nonexistent/qmp", "--policy", policy.toString(),
        "quit")).isEqualTo(3);
    assertThat(err.toString().trim()).isEqualTo("DENY by rule no-quit: keep the VM");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void aMissingSocketExitsFour(@TempDir Path dir) {
    assertThat(run("exec", "--qmp", "unix:" + dir.resolve("none.qmp"), "--timeout", "2",
        "query-status")).isEqualTo(4);
    assertThat(err.toString()).contains("cannot connect to QEMU's QMP socket");
  }
}
