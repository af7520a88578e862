package io.qmpsidecar.sidecar.config;

import java.util.List;

/** The configuration is invalid. Every problem is listed, each naming its key and the fix. */
public final class ConfigException extends RuntimeException {
  private final List<String> problems;

  public ConfigException(String source, List<String> problems) {
    super(source + ": " + problems.size() + " problem" + (problems.size() == 1 ? "" : "s") + ":\n  "
        + String.join("\n  ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
