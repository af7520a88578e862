package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The closed argument schemas of docs/policies.md ("Closed argument schemas"): each keyword on
 * arguments it accepts and on arguments it refuses, and what a refusal says.
 */
class ClosedSchemaTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static Policy policy(String arguments) {
    return Policies.parse("version: 1\nname: s\nrules:\n  - id: r\n    effect: allow\n"
        + "    callers: ['*']\n    commands: [c]\n    arguments: " + arguments + "\n", "s.yaml", false);
  }

  private static Decision decide(Policy policy, String arguments, RequestContext context,
      ValueSets sets) throws Exception {
    return policy.decide(new PolicyRequest(Caller.api("a"), "c", JSON.readTree(arguments), context),
        sets);
  }

  @ParameterizedTest(name = "{0} on {1} -> {2}")
  @CsvSource(delimiter = ';', value = {
    "{} ; {} ; true",
    "{} ; {\"x\":1} ; false",
    "{driver: vfio-pci} ; {\"driver\":\"vfio-pci\"} ; true",
    "{driver: vfio-pci} ; {} ; true",
    "{driver: {equals: vfio-pci, required: true}} ; {} ; false",
    "{driver: vfio-pci} ; {\"Driver\":\"vfio-pci\"} ; false",
    "{failover_pair_id: {type: string}} ; {\"failover-pair-id\":\"n\"} ; false",
    "{driver: [vfio-pci, e1000e]} ; {\"driver\":\"e1000e\"} ; true",
    "{driver: {enum: [vfio-pci]}} ; {\"driver\":\"VFIO-PCI\"} ; false",
    "{rombar: {type: int, enum: [0, 1]}} ; {\"rombar\":1} ; true",
    "{rombar: {type: int, enum: [0, 1]}} ; {\"rombar\":\"1\"} ; false",
    "{rombar: {type: int, enum: [0, 1]}} ; {\"rombar\":1.0} ; false",
    "{rombar: {type: int, enum: [0, 1]}} ; {\"rombar\":true} ; false",
    "{value: {type: int, min: 1}} ; {\"value\":9007199254740993} ; true",
    "{value: {type: int, min: 1}} ; {\"value\":0} ; false",
    "{value: {type: int, max: 10}} ; {\"value\":11} ; false",
    "{value: {type: number, max: 1.5}} ; {\"value\":1.25} ; true",
    "{value: {type: int}} ; {\"value\":1.25} ; false",
    "{flag: {type: bool}} ; {\"flag\":false} ; true",
    "{flag: {type: bool}} ; {\"flag\":\"on\"} ; false",
    "{flag: {type: bool}} ; {\"flag\":null} ; false",
    "{id: {pattern: 'dpu-[a-z0-9]+'}} ; {\"id\":\"dpu-vf2\"} ; true",
    "{id: {pattern: 'dpu-[a-z0-9]+'}} ; {\"id\":\"dpu-vf2/../x\"} ; false",
    "{id: {pattern: 'dpu-[a-z0-9]+'}} ; {\"id\":7} ; false",
    "{id: {glob: 'dpu-*'}} ; {\"id\":\"dpu-x\"} ; true",
    "{id: {prefix: dpu-}} ; {\"id\":\"vf\"} ; false",
    "{id: {type: string, max-length: 3}} ; {\"id\":\"abcd\"} ; false",
    "{id: {type: string, max-length: 1}} ; {\"id\":\"\ud83d\ude00\"} ; true",
    "{id: {type: string, max-length: 1}} ; {\"id\":\"a\ud83d\ude00\"} ; false",
    "{o: {type: object, members: {a: {type: int}}}} ; {\"o\":{\"a\":1}} ; true",
    "{o: {type: object, members: {a: {type: int}}}} ; {\"o\":{\"a\":1,\"b\":2}} ; false",
    "{o: {members: {a: {type: int, required: true}}}} ; {\"o\":{}} ; false",
    "{o: {members: {a: {type: int}}}} ; {\"o\":[]} ; false",
    "{l: {type: list, items: [oob]}} ; {\"l\":[\"oob\",\"oob\"]} ; true",
    "{l: {type: list, items: [oob]}} ; {\"l\":[\"bogus\"]} ; false",
    "{l: {type: list, items: [oob], max-items: 1}} ; {\"l\":[\"oob\",\"oob\"]} ; false",
    "{l: {items: {members: {c: [events], s: {type: bool}}}}} ; {\"l\":[{\"c\":\"events\",\"s\":true}]} ; true",
    "{l: {items: {members: {c: [events], s: {type: bool}}}}} ; {\"l\":[{\"c\":\"events\",\"s\":true,\"x\":1}]} ; false",
  })
  void schemaDecides(String schema, String arguments, boolean allowed) throws Exception {
    Decision d = decide(policy(schema), arguments, RequestContext.PASSTHROUGH, ValueSets.EMPTY);
    assertThat(d.ruleId()).as("%s", d).isEqualTo(allowed ? "r" : "default");
  }

  @Test
  void aRefusalSaysWhichRuleCameClosestAndWhy() throws Exception {
    Policy p = policy("{driver: vfio-pci, rombar: {type: int}}");
    assertThat(decide(p, "{\"driver\":\"vfio-pci\",\"romfile\":\"/etc/shadow\"}",
        RequestContext.PASSTHROUGH, ValueSets.EMPTY).reason())
        .endsWith("rule r does not allow it: arguments.romfile is not allowed (only [driver, rombar])");
    assertThat(decide(p, "{\"rombar\":\"1\"}", RequestContext.PASSTHROUGH, ValueSets.EMPTY).reason())
        .endsWith("rule r does not allow it: arguments.rombar must be an integer, got a string \"1\"");
  }

  @Test
  void factSetsComeWithTheRequestAndValueSetsWithTheEngine() throws Exception {
    Policy p = policy("{id: {fact: attached, required: true}, uri: {value-set: migration.destinations}}");
    RequestContext owned = RequestContext.PASSTHROUGH.withFacts("attached", List.of("hp0"));
    ValueSets sets = ValueSets.of(Map.of("migration.destinations", List.of("tcp:10.0.0.2:4444")));

    assertThat(decide(p, "{\"id\":\"hp0\"}", owned, ValueSets.EMPTY).allowed()).isTrue();
    assertThat(decide(p, "{\"id\":\"hp1\"}", owned, ValueSets.EMPTY).reason())
        .contains("arguments.id must be in the fact set 'attached' the sidecar resolved (1 entries)");
    assertThat(decide(p, "{\"id\":\"hp0\"}", RequestContext.PASSTHROUGH, ValueSets.EMPTY).allowed())
        .as("a request without the fact set").isFalse();
    assertThat(decide(p, "{\"id\":\"hp0\",\"uri\":\"tcp:10.0.0.2:4444\"}", owned, sets).allowed()).isTrue();
    assertThat(decide(p, "{\"id\":\"hp0\",\"uri\":\"tcp:10.0.0.2:4444\"}", owned, ValueSets.EMPTY).reason())
        .contains("must be in the configured value set 'migration.destinations' (empty: configure it)");
    assertThat(p.valueSetNames()).containsExactly("migration.destinations");
    assertThat(p.factNames("c")).containsExactly("attached");
    assertThat(p.factNames("other")).isEmpty();
  }

  @Test
  void whenConditionsMayNameFactAndValueSetsToo() throws Exception {
    Policy p = Policies.parse("version: 1\nname: w\nrules:\n"
        + "  - {id: r, effect: allow, callers: ['*'], commands: [c],"
        + " when: {arguments.id: {fact: attached}, arguments.uri: {value-set: dest}}}\n", "w.yaml", false);
    RequestContext owned = RequestContext.PASSTHROUGH.withFacts("attached", List.of("hp0"));
    ValueSets sets = ValueSets.of(Map.of("dest", List.of("tcp:h:1")));
    assertThat(decide(p, "{\"id\":\"hp0\",\"uri\":\"tcp:h:1\"}", owned, sets).ruleId()).isEqualTo("r");
    assertThat(decide(p, "{\"id\":\"hp0\",\"uri\":\"tcp:h:2\"}", owned, sets).ruleId()).isEqualTo("default");
    assertThat(p.factNames("c")).containsExactly("attached");
    assertThat(p.valueSetNames()).containsExactly("dest");
  }

  @Test
  void viaLimitsARuleToTheWaysItNames() throws Exception {
    Policy p = Policies.parse("version: 1\nname: v\nrules:\n"
        + "  - {id: r, effect: allow, callers: ['*'], commands: [device_add], via: [attach], arguments: {}}\n",
        "v.yaml", false);
    PolicyRequest add = PolicyRequest.of(Caller.api("a"), "device_add", JSON.createObjectNode());
    assertThat(p.decide(add.with(RequestContext.of(Via.ATTACH))).ruleId()).isEqualTo("r");
    assertThat(p.decide(add.with(RequestContext.of(Via.RELAY))).ruleId()).isEqualTo("default");
    assertThat(p.decide(PolicyRequest.of(Caller.api("a"), "device_add", JSON.createObjectNode())).ruleId())
        .as("PolicyRequest.of is a passthrough").isEqualTo("default");
  }

  @Test
  void classifyTellsDeniedClosedAndOpenApart() {
    Policy p = Policies.parse("version: 1\nname: k\nrules:\n"
        + "  - {id: closed, effect: allow, callers: ['api:*'], commands: [device_add], via: [attach],"
        + " arguments: {driver: [vfio-pci], host: {type: string}}}\n"
        + "  - {id: open, effect: allow, callers: ['proxy:*'], commands: ['query-*']}\n"
        + "  - {id: deny, effect: deny, callers: ['*'], commands: ['*']}\n", "k.yaml", false);
    Classification attach = p.classify(Caller.api("a"), "device_add", Via.ATTACH);
    assertThat(attach.kind()).isEqualTo(Classification.Kind.CLOSED);
    Classification.ClosedForm form = attach.closed().get(0);
    assertThat(form.ruleId()).isEqualTo("closed");
    assertThat(form.argumentNames()).containsExactlyInAnyOrder("driver", "host");
    assertThat(form.accepts("driver", JSON.getNodeFactory().textNode("vfio-pci"))).isTrue();
    assertThat(form.accepts("driver", JSON.getNodeFactory().textNode("usb-mtp"))).isFalse();
    assertThat(form.accepts("romfile", JSON.getNodeFactory().textNode("x"))).isFalse();
    assertThat(p.classify(Caller.api("a"), "device_add", Via.PASSTHROUGH).kind())
        .isEqualTo(Classification.Kind.DENIED);
    assertThat(p.classify(Caller.proxy("p"), "query-status", Via.PASSTHROUGH).kind())
        .isEqualTo(Classification.Kind.OPEN);
    assertThat(p.classify(Caller.proxy("p"), "quit", Via.PASSTHROUGH).kind())
        .isEqualTo(Classification.Kind.DENIED);
  }

  @Test
  void theShippedPresetsAreClosedForEveryCallerButTheAdministrator() {
    for (String preset : Policies.PRESETS) {
      Policy p = Policies.preset(preset);
      for (String command : List.of("query-status", "device_add", "device_del", "migrate", "qom-get",
          "human-monitor-command", "something-new")) {
        for (Caller caller : List.of(Caller.api("a"), Caller.proxy("p"), Caller.rule("r"), Caller.dpu())) {
          for (Via via : Via.values()) {
            assertThat(p.classify(caller, command, via).kind()).as("%s %s %s %s", preset, caller, command, via)
                .isNotEqualTo(Classification.Kind.OPEN);
          }
        }
      }
      assertThat(p.classify(Caller.cli(), "human-monitor-command", Via.PASSTHROUGH).kind())
          .isEqualTo(Classification.Kind.OPEN);
    }
  }
}
