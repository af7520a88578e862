package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code qmp-sidecar config check}: validates the configuration as {@code run} would read it. */
@Command(name = "config", description = "Work with the daemon's configuration.",
    subcommands = ConfigCommand.Check.class, mixinStandardHelpOptions = true)
final class ConfigCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Exit 0 and a summary when valid; exit 1 and every problem when not. */
  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Validate the configuration (file, QMP_SIDECAR_* variables, --set) and print what it means.")
  static final class Check implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ConfigOptions config;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try {
        SidecarConfig c = config.load(System.getenv());
        out.printf("configuration OK: %d VM%s%n", c.vms().size(), c.vms().size() == 1 ? "" : "s");
        c.vms().forEach(vm -> out.printf("  vm %s: %s%n", vm.name(), vm.qmp() != null ? vm.qmp()
            : "libvirt " + vm.libvirt().uri() + " domain " + vm.libvirt().domain()
                + (vm.libvirt().passthrough() ? " (query passthrough on: taints the domain)" : "")));
        if (c.vmSocketDir() != null) {
          out.printf("  vm sockets: every *.qmp in %s%n", c.vmSocketDir());
        }
        if (c.libvirt().enabled()) {
          out.printf("  libvirt domains: every running domain of %s%s%n", c.libvirt().uri(),
              c.libvirt().metadata() == null ? "" : " with metadata " + c.libvirt().metadata());
        }
        out.printf("  api: unix:%s%s%n", c.api().socket(),
            c.api().tcpEnabled() ? ", tcp:" + c.api().tcpHost() + ":" + c.api().tcpPort() + " (bearer tokens)" : "");
        out.printf("  policy: %s%n", c.policy().file() != null ? c.policy().file() : "preset " + c.policy().preset());
        out.printf("  relay: %s%n", c.relay().enabled() ? c.relay().url() + " as host " + c.relay().hostId() : "off");
        out.printf("  state: %s, proxy sockets: %s%n", c.stateDir(), c.proxyDir());
        return ExitCodes.OK;
      } catch (SidecarException e) {
        spec.commandLine().getErr().println(e.getMessage());
        return ExitCodes.INVALID;
      }
    }
  }
}
