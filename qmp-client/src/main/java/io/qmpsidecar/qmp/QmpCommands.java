package io.qmpsidecar.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The typed QMP commands the sidecar uses, each with its reply decoder. */
public final class QmpCommands {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private QmpCommands() {}

  public static QmpCommand<VmStatus> queryStatus() {
    return new QmpCommand<>("query-status", null,
        r -> new VmStatus(r.path("status").asText(), r.path("running").asBoolean()));
  }

  public static QmpCommand<QmpVersion> queryVersion() {
    return new QmpCommand<>("query-version", null, QmpCommands::version);
  }

  /** {@code query-pci}: every device of every root bus, bridges with their secondary bus's devices. */
  public static QmpCommand<List<PciDevice>> queryPci() {
    return new QmpCommand<>("query-pci", null, r -> {
      List<PciDevice> devices = new ArrayList<>();
      for (JsonNode bus : r) {
        devices.addAll(pciDevices(bus.path("devices")));
      }
      return List.copyOf(devices);
    });
  }

  public static QmpCommand<List<ObjectProperty>> qomList(String path) {
    ObjectNode args = JSON.objectNode().put("path", Objects.requireNonNull(path, "path"));
    return new QmpCommand<>("qom-list", args, r -> {
      List<ObjectProperty> props = new ArrayList<>();
      for (JsonNode p : r) {
        props.add(new ObjectProperty(p.path("name").asText(), p.path("type").asText()));
      }
      return List.copyOf(props);
    });
  }

  public static QmpCommand<JsonNode> qomGet(String path, String property) {
    ObjectNode args = JSON.objectNode()
        .put("path", Objects.requireNonNull(path, "path"))
        .put("property", Objects.requireNonNull(property, "property"));
    return QmpCommand.raw("qom-get", args);
  }

  /**
   * {@code device_add} with the given properties; {@code driver} is required, {@code id} is
   * needed to address the device later.
   */
  public static QmpCommand<Void> deviceAdd(ObjectNode properties) {
    if (!properties.path("driver").isTextual()) {
      throw new IllegalArgumentException("device_add needs a 'driver' property");
    }
    return noReply("device_add", properties);
  }

  /** {@code device_del}; prefer {@link QmpConnection#deviceDel}, which waits for completion. */
  public static QmpCommand<Void> deviceDel(String idOrPath) {
    return noReply("device_del", JSON.objectNode().put("id", Objects.requireNonNull(idOrPath)));
  }

  public static QmpCommand<Void> stop() {
    return noReply("stop", null);
  }

  public static QmpCommand<Void> cont() {
    return noReply("cont", null);
  }

  public static QmpCommand<Void> systemReset() {
    return noReply("system_reset", null);
  }

  /** {@code migrate-set-capabilities}, e.g. {@code {"events": true}}. */
  public static QmpCommand<Void> migrateSetCapabilities(Map<String, Boolean> capabilities) {
    ObjectNode args = JSON.objectNode();
    var list = args.putArray("capabilities");
    capabilities.forEach((name, on) -> list.addObject().put("capability", name).put("state", on));
    return noReply("migrate-set-capabilities", args);
  }

  /** {@code migrate-set-parameters} with QEMU's parameter names, e.g. {@code max-bandwidth}. */
  public static QmpCommand<Void> migrateSetParameters(ObjectNode parameters) {
    return noReply("migrate-set-parameters", parameters);
  }

  public static QmpCommand<Void> migrate(String uri) {
    return noReply("migrate", JSON.objectNode().put("uri", Objects.requireNonNull(uri, "uri")));
  }

  public static QmpCommand<Void> migrateIncoming(String uri) {
    return noReply("migrate-incoming", JSON.objectNode().put("uri", Objects.requireNonNull(uri, "uri")));
  }

  public static QmpCommand<Void> migrateCancel() {
    return noReply("migrate_cancel", null);
  }

  public static QmpCommand<MigrationInfo> queryMigrate() {
    return new QmpCommand<>("query-migrate", null, QmpCommands::migrationInfo);
  }

  /**
   * {@code getfd}: QEMU names the descriptor that came with this command {@code fdname}; send it
   * with {@link QmpConnection#getfd}, which attaches the descriptor.
   */
  public static QmpCommand<Void> getfd(String fdname) {
    return noReply("getfd", JSON.objectNode().put("fdname", Objects.requireNonNull(fdname, "fdname")));
  }

  /** {@code closefd}: QEMU closes the descriptor it holds under {@code fdname}. */
  public static QmpCommand<Void> closefd(String fdname) {
    return noReply("closefd", JSON.objectNode().put("fdname", Objects.requireNonNull(fdname, "fdname")));
  }

  /**
   * {@code add-fd}: QEMU adds the descriptor that came with this command to an fd set; send it
   * with {@link QmpConnection#addFd}, which attaches the descriptor.
   *
   * @param fdsetId the set to add to, or null for a new set
   * @param opaque free text QEMU keeps with the descriptor, or null
   */
  public static QmpCommand<AddedFd> addFd(Integer fdsetId, String opaque) {
    ObjectNode args = JSON.objectNode();
    if (fdsetId != null) {
      args.put("fdset-id", fdsetId);
    }
    if (opaque != null) {
      args.put("opaque", opaque);
    }
    return new QmpCommand<>("add-fd", args, r -> new AddedFd(r.path("fdset-id").asInt(), r.path("fd").asInt()));
  }

  /**
   * {@code remove-fd}: QEMU drops {@code fd} (its own number, from {@link AddedFd#fd()}) from the
   * set, or the whole set when {@code fd} is null; it closes a descriptor once nothing uses it.
   */
  public static QmpCommand<Void> removeFd(int fdsetId, Integer fd) {
    ObjectNode args = JSON.objectNode().put("fdset-id", fdsetId);
    if (fd != null) {
      args.put("fd", fd);
    }
    return noReply("remove-fd", args);
  }

  /** {@code query-fdsets}: every fd set and the descriptors QEMU holds in it. */
  public static QmpCommand<List<FdSet>> queryFdsets() {
    return new QmpCommand<>("query-fdsets", null, r -> {
      List<FdSet> sets = new ArrayList<>();
      for (JsonNode set : r) {
        List<FdSet.Member> fds = new ArrayList<>();
        for (JsonNode fd : set.path("fds")) {
          fds.add(new FdSet.Member(fd.path("fd").asInt(), fd.hasNonNull("opaque") ? fd.get("opaque").asText() : null));
        }
        sets.add(new FdSet(set.path("fdset-id").asInt(), fds));
      }
      return List.copyOf(sets);
    });
  }

  static QmpVersion version(JsonNode v) {
    JsonNode q = v.path("qemu");
    return new QmpVersion(q.path("major").asInt(), q.path("minor").asInt(), q.path("micro").asInt(),
        v.path("package").asText(""));
  }

  private static QmpCommand<Void> noReply(String name, ObjectNode args) {
    return new QmpCommand<>(name, args, r -> null);
  }

  private static List<PciDevice> pciDevices(JsonNode devices) {
    List<PciDevice> out = new ArrayList<>();
    for (JsonNode d : devices) {
      JsonNode bridge = d.get("pci_bridge");
      Integer secondary = bridge == null ? null : bridge.path("bus").path("secondary").asInt();
      List<PciDevice> children = bridge == null ? List.of() : pciDevices(bridge.path("devices"));
      out.add(new PciDevice(d.path("bus").asInt(), d.path("slot").asInt(), d.path("function").asInt(),
          d.path("qdev_id").asText(""), d.path("class_info").path("class").asInt(),
          d.path("id").path("vendor").asInt(), d.path("id").path("device").asInt(), secondary, children));
    }
    return out;
  }

  private static MigrationInfo migrationInfo(JsonNode r) {
    List<String> blocked = new ArrayList<>();
    r.path("blocked-reasons").forEach(b -> blocked.add(b.asText()));
    JsonNode ram = r.path("ram");
    return new MigrationInfo(
        r.path("status").asText("none"), blocked,
        r.hasNonNull("error-desc") ? r.get("error-desc").asText() : null,
        r.path("total-time").asLong(-1), r.path("downtime").asLong(-1),
        r.path("expected-downtime").asLong(-1), r.path("setup-time").asLong(-1),
        ram.path("transferred").asLong(-1), ram.path("remaining").asLong(-1),
        ram.path("total").asLong(-1), ram.path("dirty-pages-rate").asLong(-1),
        ram.path("dirty-sync-count").asLong(-1), r);
  }
}
