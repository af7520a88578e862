package io.qmpsidecar.sidecar.cli;

import picocli.CommandLine;

/** Reports the version Maven stamped into the jar's manifest ("dev" when run from classes). */
final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = QmpSidecarCommand.class.getPackage().getImplementationVersion();
    return new String[] {"qmp-sidecar " + (version == null ? "dev" : version)};
  }
}
