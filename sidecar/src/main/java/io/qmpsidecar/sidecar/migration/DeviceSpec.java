package io.qmpsidecar.sidecar.migration;

import java.util.Map;
import java.util.Objects;

/**
 * How to attach a function again: the {@code device_add} arguments besides {@code driver} and
 * {@code id}, e.g. {@code bus=rp1} and, for {@code vfio-pci}, {@code host=0000:03:00.1}.
 */
public record DeviceSpec(String id, String driver, Map<String, String> properties) {
  public DeviceSpec {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(driver, "driver");
    properties = Map.copyOf(properties);
  }
}
