package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where the daemon's configuration comes from: shared by {@code run} and {@code config check}. */
final class ConfigOptions {
  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "YAML configuration (docs/configuration.md); default: defaults only")
  Path file;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one key, e.g. --set api.socket=/run/api.sock (wins over QMP_SIDECAR_* variables)")
  List<String> sets = new ArrayList<>();

  @Option(names = "--qmp", paramLabel = "[NAME=]ADDRESS",
      description = "Add a VM by its QMP socket, e.g. --qmp vm1=unix:/run/qemu/vm1.qmp (repeatable)")
  List<String> qmp = new ArrayList<>();

  SidecarConfig load(Map<String, String> env) {
    return ConfigLoader.load(file, env, sets, qmp);
  }
}
