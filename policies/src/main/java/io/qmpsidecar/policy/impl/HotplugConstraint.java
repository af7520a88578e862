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
 * request's own arguments ({@code id}, {@code bus}, {@code host}) and the sysfs facts the hotplug
 * flow resolved. An empty set or {@code null} means "not constrained".
 */
record HotplugConstraint(
    Set<String> allowedPfs,
    Set<String> vendorDevices,
    List<StringMatcher> bdfPatterns,
    Set<String> rootPorts,
    String idPrefix,
    int maxFunctions,
    boolean requireIsolatedGroup) {

  /** Returns {@code null} when the request satisfies every constraint, else why not. */
  String violation(PolicyRequest request) {
    JsonNode args = request.arguments();
    if (idPrefix != null) {
      JsonNode id = args.get("id");
      if (id == null || !id.isTextual() || !id.textValue().startsWith(idPrefix)) {
        return "device id must start with '" + idPrefix + "', got " + describe(id);
      }
    }
    if (!rootPorts.isEmpty()) {
      JsonNode bus = args.get("bus");
      if (bus == null || !bus.isTextual() || !rootPorts.contains(bus.textValue())) {
        return "bus must be one of the reserved root ports " + sorted(rootPorts)
            + ", got " + describe(bus);
      }
    }
    if (args.has("sysfsdev")) {
      return "attach by 'sysfsdev' is not allowed here: name the function with 'host'";
    }
    Optional<HotplugFacts> known = request.hotplugFacts();
    if (known.isEmpty()) {
      return "no sysfs facts were resolved for this function, so its PF, ids and IOMMU group"
          + " cannot be checked";
    }
    HotplugFacts facts = known.get();
    String bdf = facts.bdf().toLowerCase(Locale.ROOT);
    JsonNode host = args.get("host");
    if (host == null || !host.isTextual() || !sameBdf(host.textValue(), bdf)) {
      return "argument host " + describe(host) + " does not name the resolved function " + bdf;
    }
    if (!allowedPfs.isEmpty()) {
      Optional<String> pf = facts.physfn().map(p -> p.toLowerCase(Locale.ROOT));
      if (pf.isEmpty()) {
        return bdf + " is not an SR-IOV VF (no physfn), only VFs of " + sorted(allowedPfs)
            + " may be attached";
      }
      if (!allowedPfs.contains(pf.get())) {
        return "VF " + bdf + " belongs to PF " + pf.get() + ", not to one of "
            + sorted(allowedPfs);
      }
    }
    if (!vendorDevices.isEmpty()) {
      String id = hex(facts.vendorId()) + ":" + hex(facts.deviceId());
      if (!vendorDevices.contains(id)) {
        return "vendor:device " + id + " of " + bdf + " is not one of " + sorted(vendorDevices);
      }
    }
    if (!bdfPatterns.isEmpty() && bdfPatterns.stream().noneMatch(p -> p.matches(bdf))) {
      return "function " + bdf + " matches none of the allowed BDF patterns";
    }
    if (maxFunctions > 0 && facts.attachedFunctions() >= maxFunctions) {
      return "the VM already has " + facts.attachedFunctions()
          + " functions attached, the maximum is " + maxFunctions;
    }
    if (requireIsolatedGroup && !facts.iommuGroupExclusive()) {
      return "the IOMMU group of " + bdf + " holds other devices not bound to vfio;"
          + " passing it through would hand them to the VM";
    }
    return null;
  }

  /** Normalizes a BDF to {@code dddd:bb:dd.f} lower case, adding domain 0000 when absent. */
  static String canonicalBdf(String bdf) {
    String lower = bdf.toLowerCase(Locale.ROOT);
    return lower.length() == 7 ? "0000:" + lower : lower;
  }

  private static boolean sameBdf(String requested, String resolved) {
    return canonicalBdf(requested).equals(canonicalBdf(resolved));
  }

  private static String hex(String id) {
    String lower = id.toLowerCase(Locale.ROOT);
    return lower.startsWith("0x") ? lower.substring(2) : lower;
  }

  private static String describe(JsonNode value) {
    return value == null ? "nothing" : value.toString();
  }

  private static List<String> sorted(Set<String> values) {
    return values.stream().sorted().toList();
  }
}
