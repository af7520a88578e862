package io.qmpsidecar.resilience.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sidecar's API socket as the fault tests call it: the sidecar module's {@link ApiTestClient},
 * and what they check through it.
 */
final class FaultApi {
  private final ApiTestClient api;

  FaultApi(Vertx vertx, Path socket) {
    this.api = new ApiTestClient(vertx, socket);
  }

  /** Sends and waits (bounded) for the whole reply. */
  Reply call(HttpMethod method, String uri, String body) {
    return api.call(method, uri, body);
  }

  /** Hot-plugged devices QEMU has under /machine/peripheral (the root ports rpN are its config), sorted. */
  List<String> qemuDevices(String vm) {
    Reply r = call(HttpMethod.POST, "/v1/vms/" + vm + "/qmp",
        "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}");
    assertThat(r.status()).as("qom-list on %s: %s", vm, r.body()).isEqualTo(200);
    List<String> ids = new ArrayList<>();
    r.body().path("return").forEach(p -> {
      if (p.path("type").asText().startsWith("child<") && !p.path("name").asText().matches("rp\\d+")) {
        ids.add(p.path("name").asText());
      }
    });
    return ids.stream().sorted().toList();
  }

  /** The devices the sidecar has recorded for the VM, sorted. */
  List<String> recordedDevices(String vm) {
    Reply r = call(HttpMethod.GET, "/v1/vms/" + vm + "/devices", null);
    assertThat(r.status()).as("devices of %s: %s", vm, r.body()).isEqualTo(200);
    List<String> ids = new ArrayList<>();
    r.body().forEach(d -> ids.add(d.path("id").asText()));
    return ids.stream().sorted().toList();
  }

  /**
   * The VM's real device set matches the sidecar's record, or each difference was reported:
   * {@code reported(type, id)} tells whether a {@code drift.*} event of that type named the device.
   */
  void assertRecordMatchesQemuOrDrift(String vm, BiPredicate<String, String> reported) {
    List<String> inQemu = qemuDevices(vm);
    List<String> recorded = recordedDevices(vm);
    for (String id : inQemu) {
      assertThat(recorded.contains(id) || reported.test(EventTypes.DRIFT_UNKNOWN, id))
          .as("%s in QEMU but neither recorded nor reported (record %s)", id, recorded).isTrue();
    }
    for (String id : recorded) {
      assertThat(inQemu.contains(id) || reported.test(EventTypes.DRIFT_MISSING, id))
          .as("%s recorded but not in QEMU and not reported (QEMU has %s)", id, inQemu).isTrue();
    }
  }

  /** QMP commands sent to the VM's QEMU and not answered, from the sidecar's metrics. */
  double inFlight(String vm) {
    Matcher m = Pattern.compile("qmp_sidecar_qmp_commands_in_flight\\{vm=\"" + vm + "\"\\} (\\S+)")
        .matcher(call(HttpMethod.GET, "/metrics", null).body().asText());
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /** Sends without waiting. */
  Future<Reply> send(HttpMethod method, String uri, String body) {
    return api.send(api.options(method, uri), body);
  }

  /**
   * Opens a streaming GET and appends every chunk to {@code into}; the stream ends when the
   * sidecar goes away. Waits (bounded) for the response head only.
   */
  void stream(String uri, StringBuffer into) {
    api.stream(api.options(HttpMethod.GET, uri), b -> into.append(b.toString()));
  }
}
