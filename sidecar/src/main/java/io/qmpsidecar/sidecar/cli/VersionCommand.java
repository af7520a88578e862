package io.qmpsidecar.sidecar.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code qmp-sidecar version}: this build's version and the Java running it. */
@Command(name = "version", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = "Print the version of qmp-sidecar and of the Java running it.")
final class VersionCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    // printf, not print: the command line's out flushes on printf and println only.
    spec.commandLine().getOut().printf("%s", text());
    return ExitCodes.OK;
  }

  /** What {@code version} prints (the lean path prints it too). */
  static String text() {
    return String.format("%s%njava %s (%s)%n", new VersionProvider().getVersion()[0],
        System.getProperty("java.version"), System.getProperty("java.vm.name"));
  }
}
