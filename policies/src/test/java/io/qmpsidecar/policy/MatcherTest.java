package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each matcher of docs/policies.md, on a request it matches and on one it does not. Requests carry
 * the fact set attached = [hp0]; the value set migration.destinations is [tcp:10.0.0.2:4444].
 */
class MatcherTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest(name = "{0} on {1} -> {2}")
  @CsvSource(delimiter = ';', value = {
    "arguments.driver: vfio-pci ; {\"driver\":\"vfio-pci\"} ; true",
    "arguments.driver: vfio-pci ; {\"driver\":\"e1000\"} ; false",
    "arguments.driver: {equals: vfio-pci} ; {\"driver\":\"vfio-pci\"} ; true",
    "arguments.size: {equals: 4096} ; {\"size\":4096.0} ; true",
    "arguments.driver: [vfio-pci, e1000] ; {\"driver\":\"e1000\"} ; true",
    "arguments.driver: {in: [vfio-pci, e1000]} ; {\"driver\":\"virtio-net-pci\"} ; false",
    "arguments.id: {glob: 'dpu-*'} ; {\"id\":\"dpu-vf1\"} ; true",
    "arguments.id: {glob: 'dpu-?'} ; {\"id\":\"dpu-vf1\"} ; false",
    "arguments.uri: {regex: '(tcp|unix):.*'} ; {\"uri\":\"tcp:h:1\"} ; true",
    "arguments.uri: {regex: '(tcp|unix):.*'} ; {\"uri\":\"xtcp:h:1\"} ; false",
    "arguments.uri: {prefix: 'exec:', ignore-case: true} ; {\"uri\":\"EXEC:sh\"} ; true",
    "arguments.uri: {prefix: 'exec:'} ; {\"uri\":\"EXEC:sh\"} ; false",
    "arguments.path: {glob: '*passwd*'} ; {\"path\":\"/x\\n/etc/passwd\"} ; true",
    "arguments.id: {glob: 'a?b'} ; {\"id\":\"a\\rb\"} ; true",
    "arguments.id: {glob: 'a?b'} ; {\"id\":\"a\\u2028b\"} ; true",
    "arguments.uri: {regex: 'exec:\\S+', ignore-case: true} ; {\"uri\":\"EXEC:cat\"} ; true",
    "arguments.uri: {regex: 'exec:\\S+', ignore-case: true} ; {\"uri\":\"EXEC: cat\"} ; false",
    "arguments.uri: {regex: '\\Qexec:\\E.*', ignore-case: true} ; {\"uri\":\"Exec:x\"} ; true",
    "arguments.uri: {regex: '\\p{Alpha}+:.*', ignore-case: true} ; {\"uri\":\"TCP:h:1\"} ; true",
    "arguments.uri: {glob: 'EXEC:*', ignore-case: true} ; {\"uri\":\"exec:sh\"} ; true",
    "arguments.port: {range: {min: 1024, max: 65535}} ; {\"port\":4444} ; true",
    "arguments.port: {range: {min: 1024, max: 65535}} ; {\"port\":\"4444\"} ; false",
    "arguments.port: {range: {max: 1023}} ; {\"port\":22} ; true",
    "arguments.romfile: {present: true} ; {\"romfile\":\"\"} ; true",
    "arguments.romfile: {present: false} ; {\"romfile\":\"\"} ; false",
    "arguments.romfile: {present: false} ; {} ; true",
    "arguments.uri: {not: {prefix: 'tcp:'}} ; {\"uri\":\"exec:sh\"} ; true",
    "arguments.uri: {not: {prefix: 'tcp:'}} ; {} ; false",
    "arguments: {any-key: [romfile, 'x-*']} ; {\"X_Foo\":1} ; true",
    "arguments: {any-key: [romfile, 'x-*']} ; {\"driver\":\"e1000\"} ; false",
    "arguments: {only-keys: [driver, id]} ; {\"driver\":\"e1000\",\"id\":\"n\"} ; true",
    "arguments: {only-keys: [driver, id]} ; {\"driver\":\"e1000\",\"bus\":\"b\"} ; false",
    "arguments.channels.*.addr.transport: exec ; {\"channels\":[{\"addr\":{\"transport\":\"socket\"}},{\"addr\":{\"transport\":\"exec\"}}]} ; true",
    "arguments.channels.0.addr.transport: exec ; {\"channels\":[{\"addr\":{\"transport\":\"socket\"}},{\"addr\":{\"transport\":\"exec\"}}]} ; false",
    "arguments.opts.node-name: n1 ; {\"opts\":{\"node_name\":\"n1\"}} ; true",
    "arguments.id: {fact: attached} ; {\"id\":\"hp0\"} ; true",
    "arguments.id: {fact: attached} ; {\"id\":\"nic0\"} ; false",
    "arguments.uri: {value-set: migration.destinations} ; {\"uri\":\"tcp:10.0.0.2:4444\"} ; true",
    "arguments.uri: {value-set: migration.destinations} ; {\"uri\":\"tcp:10.0.0.9:4444\"} ; false",
  })
  void matcherDecides(String when, String arguments, boolean matches) throws Exception {
    Policy policy = Policies.parse("version: 1\nname: m\nrules:\n  - id: r\n    effect: allow\n"
        + "    callers: ['*']\n    commands: [c]\n    when: {" + when + "}\n", "m.yaml", false);
    RequestContext context = RequestContext.PASSTHROUGH.withFacts("attached", java.util.List.of("hp0"));
    ValueSets sets = ValueSets.of(java.util.Map.of("migration.destinations",
        java.util.List.of("tcp:10.0.0.2:4444")));
    Decision d = policy.decide(new PolicyRequest(Caller.cli(), "c", JSON.readTree(arguments), context), sets);
    assertThat(d.ruleId()).isEqualTo(matches ? "r" : "default");
  }
}
