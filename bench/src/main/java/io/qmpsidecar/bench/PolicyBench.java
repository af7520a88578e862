package io.qmpsidecar.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.policy.AuditRecord;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Decisions per second of the default preset over a mix of allowed and denied requests, on one
 * thread, next to two baselines measured in the same run over the same mix: a bare HashMap lookup
 * of the command name (the least any allow-list costs) and Jackson parsing the request's JSON
 * text (what every QMP command costs anyway before a policy sees it).
 */
public final class PolicyBench {

  private static final int DECISIONS = 100_000;
  private static final int WARMUP_ROUNDS = 20;
  private static final int ROUNDS = 15;

  private static final String[][] MIX = {
    {"api:ops", "{\"execute\":\"query-status\"}"},
    {"dpu", "{\"execute\":\"query-pci\"}"},
    {"proxy:virsh", "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine/peripheral/dpu-0\",\"property\":\"realized\"}}"},
    {"api:ops", "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-net-pci\",\"id\":\"net1\",\"netdev\":\"n0\",\"bus\":\"rp1\"}}"},
    {"api:ops", "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"net1\"}}"},
    {"api:ops", "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:10.0.0.2:4444\"}}"},
    {"rule:reset", "{\"execute\":\"system_reset\"}"},
    {"api:ops", "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"}}"},
    {"proxy:virsh", "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-net-pci\",\"id\":\"n\",\"romfile\":\"/etc/shadow\"}}"},
    {"api:ops", "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > /tmp/vm\"}}"},
    {"dpu", "{\"execute\":\"x-exit-preconfig\"}"},
    {"api:ops", "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":\"m\",\"mem-path\":\"/dev/shm\",\"size\":4096}}"},
    {"dpu", "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-net-pci\",\"id\":\"n\"}}"},
    {"proxy:virsh", "{\"execute\":\"query-migrate\"}"},
    {"api:ops", "{\"execute\":\"cont\"}"},
    {"cli", "{\"execute\":\"quit\"}"},
  };

  /** Consumes every result so the JIT cannot drop the measured loops. */
  private static volatile int blackhole;

  private PolicyBench() {}

  public static void main(String[] args) throws Exception {
    ObjectMapper json = new ObjectMapper();
    Policy policy = Policies.preset("default");
    PolicyRequest[] requests = new PolicyRequest[DECISIONS];
    String[] texts = new String[DECISIONS];
    String[] names = new String[DECISIONS];
    for (int i = 0; i < DECISIONS; i++) {
      String[] entry = MIX[i % MIX.length];
      JsonNode root = json.readTree(entry[1]);
      texts[i] = entry[1];
      names[i] = root.get("execute").textValue();
      requests[i] = PolicyRequest.of(new Caller(entry[0]), names[i],
          root.has("arguments") ? root.get("arguments") : json.createObjectNode());
    }
    Map<String, Boolean> allowList = new HashMap<>();
    for (String name : names) {
      allowList.put(name, name.startsWith("query-"));
    }
    long[] audited = new long[1];
    AuditSink counting = (AuditRecord r) -> audited[0]++;
    PolicyEngine engine = new PolicyEngine(policy, counting, Clock.systemUTC());

    ToIntFunction<Integer> lookup = i -> allowList.get(names[i]) ? 1 : 0;
    ToIntFunction<Integer> parse = i -> parseSize(json, texts[i]);
    ToIntFunction<Integer> rules = i -> policy.decide(requests[i]).allowed() ? 1 : 0;
    ToIntFunction<Integer> full = i -> engine.decide(requests[i]).allowed() ? 1 : 0;
    for (int r = 0; r < WARMUP_ROUNDS; r++) {
      round(lookup);
      round(parse);
      round(rules);
      round(full);
    }
    double lookupRate = best(lookup);
    double parseRate = best(parse);
    double rulesRate = best(rules);
    double fullRate = best(full);

    System.out.printf("requests in the mix: %d kinds, %d decisions per round, best of %d rounds%n",
        MIX.length, DECISIONS, ROUNDS);
    System.out.printf("baseline HashMap lookup of the command name: %,.0f lookups/s%n", lookupRate);
    System.out.printf("baseline Jackson parse of the request JSON:  %,.0f parses/s%n", parseRate);
    System.out.printf("default preset, rules only (Policy.decide):  %,.0f decisions/s%n", rulesRate);
    System.out.printf("default preset, engine (rules + rate limit + audit record): %,.0f decisions/s%n",
        fullRate);
    System.out.printf("ratio engine/parse: %.2f (above 1: deciding is cheaper than parsing the command)%n",
        fullRate / parseRate);
    System.out.printf("ratio engine/lookup: %.3f%n", fullRate / lookupRate);
    System.out.printf("audit records written: %d%n", audited[0]);
  }

  private static int parseSize(ObjectMapper json, String text) {
    try {
      return json.readTree(text).size();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("bench request is not JSON: " + text, e);
    }
  }

  private static long round(ToIntFunction<Integer> op) {
    int sink = 0;
    long start = System.nanoTime();
    for (int i = 0; i < DECISIONS; i++) {
      sink += op.applyAsInt(i);
    }
    long elapsed = System.nanoTime() - start;
    blackhole += sink;
    return elapsed;
  }

  private static double best(ToIntFunction<Integer> op) {
    long best = Long.MAX_VALUE;
    for (int r = 0; r < ROUNDS; r++) {
      best = Math.min(best, round(op));
    }
    return DECISIONS * 1e9 / best;
  }
}
