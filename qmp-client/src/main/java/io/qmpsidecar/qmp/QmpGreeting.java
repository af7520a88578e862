package io.qmpsidecar.qmp;

import java.util.List;

/** The greeting QEMU sends when a client connects: its version and the capabilities it offers. */
public record QmpGreeting(QmpVersion version, List<String> capabilities) {

  public QmpGreeting {
    capabilities = List.copyOf(capabilities);
  }

  public boolean offers(String capability) {
    return capabilities.contains(capability);
  }
}
