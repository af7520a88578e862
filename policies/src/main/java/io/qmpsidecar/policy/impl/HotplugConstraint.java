package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.HotplugFacts;
import io.qmpsidecar.policy.PolicyRequest;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code hotplug} section of a rule: what a {@code vfio-pci} attach must satisfy. Checks the
 * request's own arguments ({@code id}, {@code bus}, {@code host} or {@code sysfsdev}) and the
 * sysfs facts the hotplug flow resolved. A function is allowed only through a configured selector
 * of its kind: PCI functions through {@code allowed-pfs}, {@code vendor-devices} or
 * {@code bdf-patterns}; mediated devices through {@code mdev-types} or {@code mdev-parents}. A
 * list that resolves to nothing is not configured.
 */
record HotplugConstraint(
    Items allowedPfs,
    Items vendorDevices,
    Items bdfPatterns,
    Items mdevTypes,
    Items mdevParents,
    Items hostDrivers,
    Items rootPorts,
    String idPrefix,
    int maxFunctions,
    boolean requireIsolatedGroup) {

  /** Where QEMU finds a mediated device, by UUID. */
  static final String MDEV_DIR = "/sys/bus/mdev/devices/";

  /** Returns {@code null} when the request satisfies every constraint, else why not. */
  String violation(PolicyRequest request, EvalContext context) {
    JsonNode args = request.arguments();
    if (idPrefix != null) {
      JsonNode id = args.get("id");
      if (id == null || !id.isTextual() || !id.textValue().startsWith(idPrefix)) {
        return "device id must start with '" + idPrefix + "', got " + describe(id);
      }
    }
    Set<String> ports = rootPorts.resolve(context);
    if (!ports.isEmpty()) {
      JsonNode bus = args.get("bus");
      if (bus == null || !bus.isTextual() || !ports.contains(bus.textValue())) {
        return "bus must be one of the reserved root ports " + sorted(ports)
            + ", got " + describe(bus);
      }
    }
    Optional<HotplugFacts> known = request.hotplugFacts();
    if (known.isEmpty()) {
      if (args.has("sysfsdev")) {
        return "attach by 'sysfsdev' needs the mdev's sysfs facts; none were resolved";
      }
      return "no sysfs facts were resolved for this function, so its PF, ids and IOMMU group"
          + " cannot be checked";
    }
    HotplugFacts facts = known.get();
    String why = facts.mdev().isPresent() ? mdevViolation(args, facts.mdev().get(), context)
        : pciViolation(args, facts, context);
    if (why != null) {
      return why;
    }
    if (maxFunctions > 0 && facts.attachedFunctions() >= maxFunctions) {
      return "the VM already has " + facts.attachedFunctions()
          + " functions attached, the maximum is " + maxFunctions;
    }
    if (requireIsolatedGroup && !facts.iommuGroupExclusive()) {
      return "the IOMMU group of " + name(facts) + " holds other devices not bound to vfio;"
          + " passing it through would hand them to the VM";
    }
    return null;
  }

  private String pciViolation(JsonNode args, HotplugFacts facts, EvalContext context) {
    if (args.has("sysfsdev")) {
      return "attach by 'sysfsdev' is not allowed for a PCI function: name it with 'host'";
    }
    String bdf = canonicalBdf(facts.bdf());
    JsonNode host = args.get("host");
    if (host == null || !host.isTextual() || !sameBdf(host.textValue(), bdf)) {
      return "argument host " + describe(host) + " does not name the resolved function " + bdf;
    }
    Set<String> pfs = allowedPfs.resolve(context);
    Set<String> ids = vendorDevices.resolve(context);
    List<StringMatcher> globs = bdfPatterns.globs(context);
    if (pfs.isEmpty() && ids.isEmpty() && globs.isEmpty()) {
      return "no PCI function selector is configured for this caller (allowed-pfs,"
          + " vendor-devices, bdf-patterns, or the value sets they name are empty), so no PCI"
          + " function may be attached: configure the PFs or ids this caller may take";
    }
    if (!pfs.isEmpty()) {
      Optional<String> pf = facts.physfn().map(HotplugConstraint::canonicalBdf);
      if (pf.isEmpty()) {
        return bdf + " is not an SR-IOV VF (no physfn), only VFs of " + sorted(pfs)
            + " may be attached";
      }
      if (!pfs.contains(pf.get())) {
        return "VF " + bdf + " belongs to PF " + pf.get() + ", not to one of " + sorted(pfs);
      }
    }
    if (!ids.isEmpty()) {
      String id = canonicalVendorDevice(facts.vendorId() + ":" + facts.deviceId());
      if (!ids.contains(id)) {
        return "vendor:device " + id + " of " + bdf + " is not one of " + sorted(ids);
      }
    }
    if (!globs.isEmpty() && globs.stream().noneMatch(p -> p.matches(bdf))) {
      return "function " + bdf + " matches none of the allowed BDF patterns";
    }
    if (facts.hostDriver().isPresent()) {
      Set<String> drivers = hostDrivers.resolve(context);
      String driver = facts.hostDriver().get();
      if (!drivers.contains(driver)) {
        return "host driver '" + printable(driver) + "' is not one of " + sorted(drivers)
            + ": bind the function to vfio-pci or a VFIO variant driver the configuration lists";
      }
    }
    return null;
  }

  private String mdevViolation(JsonNode args, HotplugFacts.Mdev mdev, EvalContext context) {
    if (args.has("host")) {
      return "a mediated device is attached by 'sysfsdev', not 'host'";
    }
    JsonNode sysfsdev = args.get("sysfsdev");
    String expected = MDEV_DIR + mdev.uuid();
    if (sysfsdev == null || !sysfsdev.isTextual() || !sysfsdev.textValue().equals(expected)) {
      return "argument sysfsdev " + describe(sysfsdev) + " does not name the resolved mdev "
          + expected;
    }
    Set<String> types = mdevTypes.resolve(context);
    List<StringMatcher> parents = mdevParents.globs(context);
    if (types.isEmpty() && parents.isEmpty()) {
      return "no mdev selector is configured for this caller (mdev-types, mdev-parents, or the"
          + " value sets they name are empty), so no mediated device may be attached";
    }
    if (!types.isEmpty() && !types.contains(mdev.type())) {
      return "mdev " + mdev.uuid() + " has type " + mdev.type() + ", not one of " + sorted(types);
    }
    String parent = mdev.parent().toLowerCase(Locale.ROOT);
    if (!parents.isEmpty() && parents.stream().noneMatch(p -> p.matches(parent))) {
      return "mdev " + mdev.uuid() + " belongs to parent " + mdev.parent()
          + ", which matches none of the allowed parents";
    }
    return null;
  }

  private static String name(HotplugFacts facts) {
    return facts.mdev().map(m -> "mdev " + m.uuid()).orElse(facts.bdf());
  }

  /** Normalizes a BDF to {@code dddd:bb:dd.f} lower case, adding domain 0000 when absent. */
  static String canonicalBdf(String bdf) {
    String lower = bdf.toLowerCase(Locale.ROOT);
    return lower.length() == 7 ? "0000:" + lower : lower;
  }

  /** Normalizes {@code vendor:device} to lower case without {@code 0x} prefixes. */
  static String canonicalVendorDevice(String ids) {
    String lower = ids.toLowerCase(Locale.ROOT);
    int colon = lower.indexOf(':');
    if (colon < 0) {
      return lower;
    }
    return hex(lower.substring(0, colon)) + ":" + hex(lower.substring(colon + 1));
  }

  private static boolean sameBdf(String requested, String resolved) {
    return canonicalBdf(requested).equals(canonicalBdf(resolved));
  }

  private static String hex(String id) {
    return id.startsWith("0x") ? id.substring(2) : id;
  }

  /** The driver name with control characters shown as escapes, so a reason stays one line. */
  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return b.toString();
  }

  private static String describe(JsonNode value) {
    return value == null ? "nothing" : value.toString();
  }

  private static List<String> sorted(Set<String> values) {
    return values.stream().sorted().toList();
  }
}
