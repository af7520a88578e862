package io.qmpsidecar.sidecar.api;

import java.util.List;

/** What keeps the sidecar from being ready; empty when it is. */
@FunctionalInterface
public interface Readiness {
  List<String> notReady();
}
