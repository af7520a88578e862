package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.ObjectProperty;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Picks a hot-pluggable, empty {@code pcie-root-port} of a VM from qom: root ports are the
 * {@code /machine/peripheral} children of a root-port type whose {@code hotplug} is not off; a
 * port is taken when any device's {@code parent_bus} is its bus. (qom, not {@code query-pci}:
 * a VM whose firmware has not numbered the buses lists no device behind any root port.)
 */
public final class SlotPlacement {
  static final String PERIPHERAL = "/machine/peripheral";
  private static final Set<String> ROOT_PORT_TYPES = Set.of("child<pcie-root-port>", "child<ioh3420>");
  private static final Comparator<String> NATURAL =
      Comparator.comparingInt(String::length).thenComparing(Comparator.naturalOrder());

  /** The VM's peripheral devices as qom lists them. */
  public record Peripherals(List<String> rootPorts, List<String> devices) {}

  private final Duration timeout;

  public SlotPlacement(Duration queryTimeout) {
    this.timeout = queryTimeout;
  }

  /** Every root port and every other device with an id, from {@code qom-list}. */
  public Future<Peripherals> peripherals(QmpConnection conn) {
    return conn.execute(QmpCommands.qomList(PERIPHERAL), timeout).map(props -> {
      List<String> ports = new ArrayList<>();
      List<String> devices = new ArrayList<>();
      for (ObjectProperty p : props) {
        if (ROOT_PORT_TYPES.contains(p.type())) {
          ports.add(p.name());
        } else if (p.type().startsWith("child<")) {
          devices.add(p.name());
        }
      }
      ports.sort(NATURAL);
      devices.sort(NATURAL);
      return new Peripherals(List.copyOf(ports), List.copyOf(devices));
    });
  }

  /**
   * The root port to use: {@code requested} when it is a free hot-pluggable root port, else the
   * first free one. Fails with {@code CONFLICT} when there is none, and with the probe's failure
   * ({@code placement-unknown}) when QEMU did not answer a probe: a port whose state is unknown is
   * never taken for free.
   */
  public Future<String> choose(QmpConnection conn, String vm, String requested, Peripherals peripherals) {
    return hotpluggable(conn, vm, peripherals.rootPorts()).compose(ports ->
        occupiedPorts(conn, vm, peripherals, ports).map(occupied -> {
          if (requested != null) {
            if (!ports.contains(requested)) {
              throw HotplugFailures.noFreeSlot(vm, "'" + requested
                  + "' is not a hot-pluggable pcie-root-port of this VM", ports);
            }
            if (occupied.contains(requested)) {
              throw HotplugFailures.noFreeSlot(vm, "root port '" + requested + "' already holds a device", ports);
            }
            return requested;
          }
          return ports.stream().filter(p -> !occupied.contains(p)).findFirst().orElseThrow(() ->
              HotplugFailures.noFreeSlot(vm, "every hot-pluggable pcie-root-port holds a device", ports));
        }));
  }

  private Future<List<String>> hotpluggable(QmpConnection conn, String vm, List<String> ports) {
    List<Future<Boolean>> checks = new ArrayList<>();
    for (String port : ports) {
      // A QEMU whose root port has no 'hotplug' property (QEMU refuses the read) cannot turn
      // hotplug off; a read that got no answer says nothing.
      checks.add(probe(conn.execute(QmpCommands.qomGet(PERIPHERAL + "/" + port, "hotplug"), timeout)
          .map(JsonNode::asBoolean), true, vm, "whether root port " + port + " takes hot-plugged devices"));
    }
    return Future.all(checks).map(cf -> {
      List<String> out = new ArrayList<>();
      for (int i = 0; i < ports.size(); i++) {
        if (Boolean.TRUE.equals(cf.resultAt(i))) {
          out.add(ports.get(i));
        }
      }
      return out;
    });
  }

  private Future<Set<String>> occupiedPorts(QmpConnection conn, String vm, Peripherals peripherals,
      List<String> ports) {
    List<String> paths = new ArrayList<>();
    peripherals.devices().forEach(d -> paths.add(PERIPHERAL + "/" + d));
    peripherals.rootPorts().forEach(d -> paths.add(PERIPHERAL + "/" + d));
    Future<List<String>> anon = probe(conn.execute(QmpCommands.qomList(PERIPHERAL + "-anon"), timeout)
        .map(props -> props.stream().filter(p -> p.type().startsWith("child<"))
            .map(p -> PERIPHERAL + "-anon/" + p.name()).toList()), List.of(), vm, "which devices have no id");
    return anon.compose(anonPaths -> {
      paths.addAll(anonPaths);
      List<Future<String>> buses = new ArrayList<>();
      for (String path : paths) {
        buses.add(probe(conn.execute(QmpCommands.qomGet(path, "parent_bus"), timeout).map(JsonNode::asText),
            "", vm, "which bus " + path + " sits on"));
      }
      return Future.all(buses).map(cf -> {
        Set<String> occupied = new HashSet<>();
        for (int i = 0; i < paths.size(); i++) {
          String bus = cf.resultAt(i);
          for (String port : ports) {
            if (bus.startsWith(PERIPHERAL + "/" + port + "/")) {
              occupied.add(port);
            }
          }
        }
        return occupied;
      });
    });
  }

  /**
   * A probe's answer; {@code whenRefused} when QEMU refused the read (the property or object does
   * not exist there); a placement failure when QEMU did not answer at all.
   */
  private static <T> Future<T> probe(Future<T> read, T whenRefused, String vm, String what) {
    return read.recover(e -> e instanceof QmpCommandException ? Future.succeededFuture(whenRefused)
        : Future.failedFuture(HotplugFailures.placementUnknown(vm, what, e)));
  }
}
