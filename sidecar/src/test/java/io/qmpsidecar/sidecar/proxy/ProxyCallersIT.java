package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.AuditRecord;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Who is calling: clients are named from their credentials (SO_PEERCRED) or their consumer
 * socket, each request is decided once (one audit record, one rate-limit token), the rate limit
 * follows the caller across connections, and a command QEMU does not have is answered as QEMU
 * answers it without a decision.
 */
class ProxyCallersIT {

  @RegisterExtension final ProxyFixture fx = new ProxyFixture();

  /** Read-only queries for proxy callers, with a bucket of {@code burst} that hardly refills. */
  private static Policy limited(int burst) {
    return Policies.parse("version: 1\nname: limited\nrules:\n"
        + "  - {id: queries, effect: allow, callers: ['proxy:*'], commands: ['query-*']}\n"
        + "rate-limits:\n"
        + "  - {id: slow, callers: ['proxy:*'], burst: " + burst + ", per-second: 0.001}\n",
        "test", false);
  }

  private LineSocket negotiated(Path socket) {
    LineSocket c = fx.connect(socket);
    c.line();
    c.send("{\"execute\":\"qmp_capabilities\"}\n");
    assertThat(c.line()).isEqualTo("{\"return\": {}}\r\n");
    return c;
  }

  @QemuTest
  void eachRequestIsDecidedOnceWithOneAuditRecordAndOneToken(QemuBinary binary) {
    fx.start(binary, fx.options().withClientName("once"), limited(5));
    LineSocket c = negotiated(fx.proxy.socketPath());
    for (int i = 0; i < 5; i++) {
      c.send("{\"execute\":\"query-status\",\"id\":" + i + "}");
      assertThat(c.line()).startsWith("{\"return\": {\"status\": \"running\"");
    }
    c.send("{\"execute\":\"query-status\",\"id\":5}");
    assertThat(c.line()).startsWith("{\"id\": 5, \"error\": {\"class\": \"GenericError\","
        + " \"desc\": \"denied by policy rule rate-limit:slow: ");
    assertThat(fx.audit).hasSize(6).allMatch(r -> r.caller().equals("proxy:once"))
        .extracting(AuditRecord::effect)
        .containsExactly(Effect.ALLOW, Effect.ALLOW, Effect.ALLOW, Effect.ALLOW, Effect.ALLOW, Effect.DENY);
  }

  @QemuTest
  void aCommandQemuDoesNotHaveGetsQemusAnswerAndIsNotDecided(QemuBinary binary) {
    fx.start(binary, fx.options(), Policies.preset("default"));
    String unknown = "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"no-such-command\",\"id\":1}"
        + "{\"execute\":\"x-no-such\",\"arguments\":{\"a\":1},\"id\":2}";
    List<String> direct = fx.connect(fx.direct()).send(unknown).shutdownOutput().untilClosed(20);
    List<String> proxied = fx.connect(fx.proxy.socketPath()).send(unknown).shutdownOutput().untilClosed(20);
    assertThat(proxied).containsExactlyElementsOf(direct);
    assertThat(proxied.get(2)).isEqualTo("{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\","
        + " \"desc\": \"The command no-such-command has not been found\"}}\r\n");
    assertThat(fx.audit).isEmpty();
  }

  @QemuTest
  void aCallersRateLimitOutlivesItsConnection(QemuBinary binary) throws IOException {
    fx.start(binary, fx.options(), limited(3));
    LineSocket first = negotiated(fx.proxy.socketPath());
    for (int i = 0; i < 3; i++) {
      first.send("{\"execute\":\"query-name\",\"id\":" + i + "}");
      assertThat(first.line()).isEqualTo("{\"return\": {}, \"id\": " + i + "}\r\n");
    }
    first.close();
    LineSocket again = negotiated(fx.proxy.socketPath());
    again.send("{\"execute\":\"query-name\",\"id\":3}");
    assertThat(again.line()).contains("denied by policy rule rate-limit:slow");
    String caller = "proxy:" + Files.getOwner(fx.dir()).getName();
    assertThat(fx.audit).extracting(AuditRecord::caller).containsOnly(caller);
    assertThat(fx.proxy.callers()).singleElement().satisfies(c -> {
      assertThat(c.caller()).isEqualTo(caller);
      assertThat(c.connections()).isEqualTo(2);
      assertThat(c.commands()).isEqualTo(3);
      assertThat(c.denied()).isEqualTo(1);
    });
  }

  /** Runs socat as user nobody (group nogroup) against {@code socket}; returns what it printed. */
  private static List<String> socatAsNobody(Path socket, String input) throws Exception {
    return ProxyFixture.run(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
        "socat", "-t5", "-", "UNIX-CONNECT:" + socket), input).lines().toList();
  }

  /** Lets user nobody reach sockets in the test directory. */
  private void openDirectory() throws IOException {
    Files.setPosixFilePermissions(fx.dir(), PosixFilePermissions.fromString("rwx--x--x"));
  }

  private static void giveGroup(Path file, String group) throws IOException {
    GroupPrincipal g = file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
    Files.getFileAttributeView(file, PosixFileAttributeView.class).setGroup(g);
  }

  @QemuTest
  void anotherUsersClientIsNamedByTheKernelsWordOrByARule(QemuBinary binary) throws Exception {
    openDirectory();
    fx.start(binary, fx.options().withGroupAccess(true).withCallers(Map.of("group:nogroup", "batch")),
        limited(10));
    giveGroup(fx.proxy.socketPath(), "nogroup");
    String query = "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-name\",\"id\":1}";
    assertThat(socatAsNobody(fx.proxy.socketPath(), query)).hasSize(3)
        .last().isEqualTo("{\"return\": {}, \"id\": 1}");
    assertThat(fx.audit).extracting(AuditRecord::caller).containsExactly("proxy:batch");
  }

  @QemuTest
  void aPeerNoRuleNamesIsCalledByItsUserName(QemuBinary binary) throws Exception {
    openDirectory();
    fx.start(binary, fx.options().withGroupAccess(true), limited(10));
    giveGroup(fx.proxy.socketPath(), "nogroup");
    socatAsNobody(fx.proxy.socketPath(), "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-name\"}");
    assertThat(fx.audit).extracting(AuditRecord::caller).containsExactly("proxy:nobody");
  }

  @QemuTest
  void aConsumerSocketNamesEveryClientOfItAndBelongsToItsGroup(QemuBinary binary) throws Exception {
    openDirectory();
    fx.start(binary, fx.options().withConsumers(List.of(new ProxyConsumer("backup", "nogroup"))),
        limited(10));
    Path socket = fx.dir().resolve("proxy.backup.qmp");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-rw----");
    assertThat(Files.getAttribute(socket, "unix:gid")).isEqualTo(65534);
    List<String> out = socatAsNobody(socket, "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-name\",\"id\":1}");
    assertThat(out).last().isEqualTo("{\"return\": {}, \"id\": 1}");
    // The main socket stays the sidecar user's own.
    assertThat(socatAsNobody(fx.proxy.socketPath(), "{}")).singleElement().asString()
        .contains("Permission denied");
    assertThat(fx.audit).extracting(AuditRecord::caller).containsExactly("proxy:backup");
    assertThat(fx.proxy.callers()).extracting(ProxyCallerStats::caller).containsExactly("proxy:backup");
    result(fx.proxy.close());
    fx.proxy = null;
    assertThat(socket).doesNotExist();
  }
}
