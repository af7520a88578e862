package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** The VMs this sidecar serves, by name, from its configuration only. Immutable after start. */
public final class VmRegistry {
  private final Map<String, VmHandle> vms;

  /**
   * @param onConnection called with each VM's connection before it opens (to subscribe to its
   *     events from the first one on)
   * @param onFirstReady called once per VM when its connection is first ready (it reconnects by
   *     itself afterwards)
   */
  public VmRegistry(Vertx vertx, List<SidecarConfig.Vm> configured, Duration commandTimeout,
      BiConsumer<String, QmpConnection> onConnection, BiConsumer<String, QmpConnection> onFirstReady) {
    Map<String, VmHandle> map = new LinkedHashMap<>();
    for (SidecarConfig.Vm vm : configured) {
      map.put(vm.name(), new VmHandle(vertx, vm.name(), vm.qmp(), commandTimeout,
          c -> onConnection.accept(vm.name(), c), c -> onFirstReady.accept(vm.name(), c)));
    }
    this.vms = java.util.Collections.unmodifiableMap(map);
  }

  public void start() {
    vms.values().forEach(VmHandle::start);
  }

  /** @throws VmNotFoundException naming the configured VMs */
  public VmHandle get(String name) {
    VmHandle vm = vms.get(name);
    if (vm == null) {
      throw new VmNotFoundException(name, vms.keySet());
    }
    return vm;
  }

  public Collection<VmHandle> all() {
    return vms.values();
  }

  public Future<Void> close() {
    return Future.join(vms.values().stream().map(VmHandle::close).toList()).mapEmpty();
  }
}
