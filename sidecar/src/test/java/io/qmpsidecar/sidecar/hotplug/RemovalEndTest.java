package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device gone from QEMU whose record the store cannot remove (here SQLite refuses the delete: a
 * trigger another connection added, as a full disk would refuse it) is
 * published all the same, {@code recorded: false}, and the failure is {@code state-store} with the
 * store's {@code path}, as docs/hotplug.md lists it.
 */
class RemovalEndTest {
  @TempDir Path dir;
  private Vertx vertx;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() {
    result(vertx.close());
  }

  @Test
  void aRecordTheStoreCannotRemoveFailsAsStateStoreNamingItsPath() throws Exception {
    EventStream events = new EventStream(vertx, Clock.systemUTC(), 16);
    List<SidecarEvent> seen = new CopyOnWriteArrayList<>();
    events.subscribe(e -> e.type().equals(EventTypes.DEVICE_DETACHED), 16, seen::add);
    Path file = dir.resolve("sidecar.db");
    StateStore store = result(StateStore.open(vertx, file));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
      s.execute("CREATE TRIGGER refuse BEFORE DELETE ON attachments BEGIN SELECT RAISE(ABORT, 'refused'); END");
    }
    RemovalEnd end = new RemovalEnd(events, store, null, a -> JsonNodeFactory.instance.objectNode().put("id", a.id()));
    Attachment nic = new Attachment("vm1", "nic1", "e1000e", null, "rp1", JsonNodeFactory.instance.objectNode(), false,
        null, null, List.of(), AttachmentState.DETACHING, "op", "cli");

    result(store.put(nic));
    SidecarException e = (SidecarException) failure(end.finish(nic, false, "op", "DEVICE_DELETED", true, null));
    result(store.close());

    assertThat(e.code()).isEqualTo("state-store");
    assertThat(e.detail("path")).isEqualTo(file.toString());
    Await.until("device.detached is published", () -> !seen.isEmpty());
    assertThat(seen.get(0).data().path("recorded").asBoolean(true)).isFalse();
  }

  @Test
  void noDetailMayTakeTheNameOfAProblemsOwnMember() {
    assertThatThrownBy(() -> SidecarException.of(SidecarException.Kind.MIGRATING, "migration-active", "m")
        .detail("status", "active"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("detail 'status'");
  }
}
