package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Runs every {@code console} example of docs/policies.md and expects exactly the output and exit
 * code the document shows, so the document cannot drift from the CLI.
 */
class PolicyCommandDocTest {

  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Path DOC = ROOT.resolve("docs/policies.md");

  record Example(String command, List<String> expected, int exit) {
    @Override
    public String toString() {
      return command.length() > 90 ? command.substring(0, 90) + "..." : command;
    }
  }

  static Stream<Example> examples() throws IOException {
    List<Example> examples = new ArrayList<>();
    List<String> lines = Files.readAllLines(DOC);
    for (int i = 0; i < lines.size(); i++) {
      if (!lines.get(i).equals("```console")) {
        continue;
      }
      String command = lines.get(++i).substring("$ ".length());
      List<String> expected = new ArrayList<>();
      while (!lines.get(++i).startsWith("[exit ")) {
        expected.add(lines.get(i));
      }
      String exit = lines.get(i);
      examples.add(new Example(command, expected,
          Integer.parseInt(exit.substring("[exit ".length(), exit.length() - 1))));
    }
    assertThat(examples).as("console examples in %s", DOC).hasSizeGreaterThanOrEqualTo(4);
    return examples.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("examples")
  void documentedExampleRunsAsShown(Example example) {
    List<String> args = words(example.command());
    assertThat(args.remove(0)).isEqualTo("qmp-sidecar");
    List<String> expected = new ArrayList<>(example.expected());
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (!arg.startsWith("-") && Files.exists(ROOT.resolve(arg))) {
        String absolute = ROOT.resolve(arg).toString();
        args.set(i, absolute);
        expected.replaceAll(line -> line.replace(arg, absolute));
      }
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));

    int exit = cli.execute(args.toArray(new String[0]));

    List<String> printed = new ArrayList<>(out.toString().lines().toList());
    printed.addAll(err.toString().lines().toList());
    assertThat(printed).containsExactlyElementsOf(expected);
    assertThat(exit).isEqualTo(example.exit());
  }

  /** Splits a shell command line on spaces, keeping single-quoted words whole. */
  private static List<String> words(String line) {
    List<String> words = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    boolean quoted = false;
    for (char c : line.toCharArray()) {
      if (c == '\'') {
        quoted = !quoted;
      } else if (c == ' ' && !quoted) {
        if (word.length() > 0) {
          words.add(word.toString());
          word.setLength(0);
        }
      } else {
        word.append(c);
      }
    }
    if (word.length() > 0) {
      words.add(word.toString());
    }
    return words;
  }
}
