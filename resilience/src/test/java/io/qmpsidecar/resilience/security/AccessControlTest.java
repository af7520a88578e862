package io.qmpsidecar.resilience.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.resilience.Figures;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API's access control on a running sidecar: on TCP every route but /healthz refuses a
 * missing, wrong, truncated or differently-schemed token, and the Unix socket is created for the
 * owner and group only.
 */
class AccessControlTest {
  private static final String TOKEN = "ops-token-0123456789abcdef";
  private static final List<String[]> ROUTES = List.of(
      new String[] {"GET", "/v1/vms"}, new String[] {"GET", "/v1/vms/vm1"},
      new String[] {"POST", "/v1/vms/vm1/qmp"}, new String[] {"GET", "/v1/vms/vm1/devices"},
      new String[] {"POST", "/v1/vms/vm1/devices"}, new String[] {"DELETE", "/v1/vms/vm1/devices/dpu-0"},
      new String[] {"POST", "/v1/policy/explain"}, new String[] {"GET", "/metrics"},
      new String[] {"GET", "/readyz"}, new String[] {"GET", "/v1/events"});
  private static final List<String> BAD_AUTHORIZATION = List.of("", "Bearer", "Bearer ", "Bearer wrong-token-0123456789",
      "Bearer " + TOKEN.substring(0, TOKEN.length() - 1), "Bearer " + TOKEN + "x", "Basic " + TOKEN, TOKEN,
      "Bearer  " + TOKEN.toUpperCase());

  @TempDir Path dir;
  private Sidecar sidecar;
  private Vertx vertx;
  private HttpClient http;

  @BeforeEach
  void start() throws Exception {
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, "ops:" + TOKEN + "\n");
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
    sidecar = Sidecar.start(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("run/api.sock"),
        "api.tcp=127.0.0.1:0", "api.tokensFile=" + tokens, "stateDir=" + dir.resolve("state"),
        "proxy.dir=" + dir.resolve("proxy")), List.of("vm1=unix:" + dir.resolve("no-qemu.qmp"))), Duration.ofSeconds(30));
    vertx = Vertx.vertx();
    http = vertx.createHttpClient();
  }

  @AfterEach
  void stop() {
    vertx.close().await();
    sidecar.stop();
  }

  @Test
  void everyRouteRefusesAMissingOrWrongToken() throws Exception {
    List<String> let = new ArrayList<>();
    int tried = 0;
    for (String[] route : ROUTES) {
      for (String auth : BAD_AUTHORIZATION) {
        tried++;
        int status = call(route[0], route[1], auth);
        // 429: the peer's failed attempts are throttled before any token is compared (docs/security.md).
        if (status != 401 && status != 429) {
          let.add(route[0] + " " + route[1] + " with '" + auth + "' -> " + status);
        }
      }
    }
    Figures.record(Figures.Section.SECURITY, "API on TCP: missing or wrong bearer tokens", tried, tried - let.size());
    assertThat(let).as("requests that got past the token check").isEmpty();
    // The throttle lets this peer try again one request a second.
    Await.until("the right token is accepted once the throttle lets this peer in",
        () -> callUnchecked("GET", "/v1/vms", "Bearer " + TOKEN) == 200);
    assertThat(call("GET", "/healthz", "")).as("liveness needs no token").isEqualTo(200);
  }

  @Test
  void theApiSocketIsForOwnerAndGroupOnly() throws Exception {
    Path socket = dir.resolve("run/api.sock");
    String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, LinkOption.NOFOLLOW_LINKS));
    Figures.record(Figures.Section.SECURITY, "API Unix socket mode is rw-rw----", 1, mode.equals("rw-rw----") ? 1 : 0);
    assertThat(mode).isEqualTo("rw-rw----");
  }

  private int callUnchecked(String method, String uri, String authorization) {
    try {
      return call(method, uri, authorization);
    } catch (Exception e) {
      throw new IllegalStateException(method + " " + uri + " failed: " + e, e);
    }
  }

  private int call(String method, String uri, String authorization) throws Exception {
    RequestOptions o = new RequestOptions().setHost("127.0.0.1").setPort(sidecar.api().tcpPort())
        .setMethod(HttpMethod.valueOf(method)).setURI(uri).setTimeout(10_000);
    if (!authorization.isEmpty()) {
      o.putHeader("authorization", authorization);
    }
    return http.request(o).compose(r -> r.send(Buffer.buffer("{}"))).map(r -> {
      int status = r.statusCode();
      r.request().connection().close();
      return status;
    }).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
  }
}
