package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hotplug constraints of docs/policies.md: selectors, value sets, mdevs and host drivers. */
class HotplugConstraintTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String VF = "0000:03:00.2";
  private static final String MDEV = "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001";

  private static Policy policy(String hotplug) {
    return Policies.parse("version: 1\nname: h\nrules:\n  - id: attach\n    effect: allow\n"
        + "    callers: ['api:*']\n    commands: [device_add]\n    hotplug: " + hotplug + "\n",
        "h.yaml", false);
  }

  private static HotplugFacts vf() {
    return new HotplugFacts(VF, Optional.of("0000:03:00.0"), "15b3", "101e", 0, true);
  }

  private static Decision attach(Policy policy, String args, HotplugFacts facts, ValueSets sets)
      throws Exception {
    return policy.decide(new PolicyRequest(Caller.api("a"), "device_add", JSON.readTree(args),
        RequestContext.of(Via.ATTACH).withHotplug(facts)), sets);
  }

  private static String host(String bdf) {
    return "{\"driver\":\"vfio-pci\",\"id\":\"hp0\",\"host\":\"" + bdf + "\"}";
  }

  private static String sysfsdev(String uuid) {
    return "{\"driver\":\"vfio-pci\",\"id\":\"mt0\",\"sysfsdev\":\"/sys/bus/mdev/devices/" + uuid + "\"}";
  }

  @Test
  void withoutASelectorNoFunctionMayBeAttached() throws Exception {
    Decision d = attach(policy("{require-isolated-group: true}"), host(VF), vf(), ValueSets.EMPTY);
    assertThat(d.allowed()).isFalse();
    assertThat(d.reason()).contains("no PCI function selector is configured");
    Decision m = attach(policy("{bdf-patterns: ['*']}"), sysfsdev(MDEV), mdev("mtty-2"), ValueSets.EMPTY);
    assertThat(m.reason()).contains("no mdev selector is configured");
  }

  @Test
  void selectorsMayComeFromTheConfigurationsValueSets() throws Exception {
    Policy p = policy("{allowed-pfs: [{value-set: hotplug.allowedPfs}]}");
    assertThat(attach(p, host(VF), vf(), ValueSets.EMPTY).reason())
        .as("an empty set is no selector").contains("no PCI function selector is configured");
    ValueSets sets = ValueSets.of(Map.of("hotplug.allowedPfs", List.of("03:00.0")));
    assertThat(attach(p, host(VF), vf(), sets).allowed()).as("short BDFs are canonical").isTrue();
    ValueSets other = ValueSets.of(Map.of("hotplug.allowedPfs", List.of("0000:04:00.0")));
    assertThat(attach(p, host(VF), vf(), other).reason())
        .contains("VF 0000:03:00.2 belongs to PF 0000:03:00.0, not to one of [0000:04:00.0]");
    assertThat(p.valueSetNames()).containsExactly("hotplug.allowedPfs");
  }

  @Test
  void theHostDriverIsVfioPciOrAListedVariantAndNeverFreeText() throws Exception {
    Policy byDefault = policy("{allowed-pfs: ['0000:03:00.0']}");
    assertThat(attach(byDefault, host(VF), vf(), ValueSets.EMPTY).allowed())
        .as("nothing rebound").isTrue();
    assertThat(attach(byDefault, host(VF), vf().withHostDriver("vfio-pci"), ValueSets.EMPTY).allowed()).isTrue();
    assertThat(attach(byDefault, host(VF), vf().withHostDriver("mlx5_vfio_pci"), ValueSets.EMPTY).reason())
        .contains("host driver 'mlx5_vfio_pci' is not one of [vfio-pci]");
    Decision text = attach(byDefault, host(VF), vf().withHostDriver("vfio-pci\n../../../../tmp/x"), ValueSets.EMPTY);
    assertThat(text.allowed()).isFalse();
    assertThat(text.reason()).contains("'vfio-pci\\u000a../../../../tmp/x'").doesNotContain("\n");

    Policy variants = policy("{allowed-pfs: ['0000:03:00.0'], host-drivers: [vfio-pci, {value-set: hostprep.variantDrivers}]}");
    ValueSets sets = ValueSets.of(Map.of("hostprep.variantDrivers", List.of("mlx5_vfio_pci")));
    assertThat(attach(variants, host(VF), vf().withHostDriver("mlx5_vfio_pci"), sets).allowed()).isTrue();
    assertThat(attach(variants, host(VF), vf().withHostDriver("nvme"), sets).allowed()).isFalse();
  }

  @Test
  void aMediatedDeviceIsNamedBySysfsdevAndCheckedByTypeAndParent() throws Exception {
    Policy p = policy("{mdev-types: [mtty-2], mdev-parents: [mtty]}");
    assertThat(attach(p, sysfsdev(MDEV), mdev("mtty-2"), ValueSets.EMPTY).allowed()).isTrue();
    assertThat(attach(p, sysfsdev(MDEV), mdev("mtty-1"), ValueSets.EMPTY).reason())
        .contains("has type mtty-1, not one of [mtty-2]");
    assertThat(attach(p, sysfsdev("00000000-0000-0000-0000-000000000000"), mdev("mtty-2"), ValueSets.EMPTY).reason())
        .contains("does not name the resolved mdev /sys/bus/mdev/devices/" + MDEV);
    assertThat(attach(p, "{\"driver\":\"vfio-pci\",\"host\":\"" + VF + "\"}", mdev("mtty-2"), ValueSets.EMPTY).reason())
        .contains("attached by 'sysfsdev', not 'host'");
    assertThat(attach(p, sysfsdev(MDEV), vf(), ValueSets.EMPTY).reason())
        .as("a PCI function named by sysfsdev").contains("not allowed for a PCI function");
    HotplugFacts foreign = HotplugFacts.ofMdev(new HotplugFacts.Mdev(MDEV, "mtty-2", "0000:65:00.0"), 0, true);
    assertThat(attach(p, sysfsdev(MDEV), foreign, ValueSets.EMPTY).reason())
        .contains("belongs to parent 0000:65:00.0");
  }

  @Test
  void theEngineSwapsPolicyAndValueSetsTogether(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("p.yaml");
    Files.writeString(file, "version: 1\nname: m\nrules:\n  - {id: m, effect: allow, callers: ['api:*'],"
        + " commands: [migrate], arguments: {uri: {value-set: migration.destinations, required: true}}}\n");
    ValueSets one = ValueSets.of(Map.of("migration.destinations", List.of("tcp:h1:1")));
    ValueSets two = ValueSets.of(Map.of("migration.destinations", List.of("tcp:h2:1")));
    PolicyEngine engine = new PolicyEngine(Policies.load(file), one, AuditSink.NONE, Clock.systemUTC());
    String toH1 = "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:h1:1\"}}";
    String toH2 = "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:h2:1\"}}";
    assertThat(engine.decideText(Caller.api("a"), toH1, RequestContext.PASSTHROUGH).allowed()).isTrue();
    assertThat(engine.decideText(Caller.api("a"), toH2, RequestContext.PASSTHROUGH).allowed()).isFalse();

    engine.reload(file, two);
    assertThat(engine.valueSets()).isEqualTo(two);
    assertThat(engine.decideText(Caller.api("a"), toH1, RequestContext.PASSTHROUGH).allowed()).isFalse();
    assertThat(engine.decideText(Caller.api("a"), toH2, RequestContext.PASSTHROUGH).allowed()).isTrue();

    engine.reload(file);
    assertThat(engine.valueSets()).as("a reload without sets keeps them").isEqualTo(two);
  }

  private static HotplugFacts mdev(String type) {
    return HotplugFacts.ofMdev(new HotplugFacts.Mdev(MDEV, type, "mtty"), 0, true);
  }
}
