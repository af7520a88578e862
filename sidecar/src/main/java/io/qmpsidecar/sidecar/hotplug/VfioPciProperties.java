package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

/** What the VM's QEMU offers on {@code vfio-pci}, as {@code device-list-properties} names it. */
final class VfioPciProperties {
  private VfioPciProperties() {}

  /** The names of {@code vfio-pci}'s properties; fails with QEMU's error or a timeout after {@code timeout}. */
  static Future<Set<String>> names(QmpConnection conn, Duration timeout) {
    return conn.execute(QmpCommand.raw("device-list-properties",
        JsonNodeFactory.instance.objectNode().put("typename", "vfio-pci")), timeout).map(list -> {
          Set<String> names = new HashSet<>();
          for (JsonNode p : list) {
            names.add(p.path("name").asText());
          }
          return names;
        });
  }
}
