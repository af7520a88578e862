package io.qmpsidecar.sidecar.api;

import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.Failures;
import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The filters of {@code GET /v1/events}: {@code vm=NAME} (repeatable), {@code type=PATTERN}
 * (repeatable or comma-separated; a trailing {@code *} matches a prefix, e.g. {@code qmp.*}),
 * and {@code data.FIELD=VALUE} (the event's data field equals the value as text).
 */
record EventFilterParams(List<String> vms, List<String> types, Map<String, String> data) {

  static EventFilterParams from(MultiMap query) {
    List<String> vms = new ArrayList<>(query.getAll("vm"));
    List<String> types = new ArrayList<>();
    query.getAll("type").forEach(t -> types.addAll(List.of(t.split(","))));
    Map<String, String> data = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, String> e : query.entries()) {
      if (e.getKey().startsWith("data.") && e.getKey().length() > 5) {
        data.put(e.getKey().substring(5), e.getValue());
      } else if (!List.of("vm", "type", "format", "since").contains(e.getKey())) {
        throw Failures.badRequest("unknown parameter '" + e.getKey() + "'; use vm=, type=, data.FIELD=, since= or format=ndjson");
      }
    }
    String format = query.get("format");
    if (format != null && !format.equals("ndjson")) {
      throw Failures.badRequest("format must be ndjson, got '" + format + "'; leave it out for server-sent events");
    }
    return new EventFilterParams(List.copyOf(vms), List.copyOf(types), Map.copyOf(data));
  }

  Predicate<SidecarEvent> predicate() {
    return e -> (vms.isEmpty() || vms.contains(e.vm())) && (types.isEmpty() || types.stream().anyMatch(t -> matches(t, e.type())))
        && data.entrySet().stream().allMatch(d -> d.getValue().equals(e.text(d.getKey())));
  }

  private static boolean matches(String pattern, String type) {
    return pattern.endsWith("*") ? type.startsWith(pattern.substring(0, pattern.length() - 1)) : pattern.equals(type);
  }
}
