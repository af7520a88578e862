package io.qmpsidecar.sidecar.state;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.testing.TestVertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {
  @RegisterExtension static final TestVertx VERTX = new TestVertx();

  @TempDir Path dir;

  private static Attachment attachment(String vm, String id, AttachmentState state) {
    return new Attachment(vm, id, "vfio-pci", "0000:03:00.2", "rp1",
        JsonNodeFactory.instance.objectNode().put("driver", "vfio-pci").put("id", id),
        true, "mlx5_core", "01:00.0", List.of("VFIO device doesn't support migration"), state, "op-1", "dpu");
  }

  @Test
  void attachmentsSurviveAReopen() {
    Path file = dir.resolve(StateStore.FILE_NAME);
    StateStore store = result(StateStore.open(VERTX.get(), file));
    Attachment a = attachment("vm1", "dpu-a", AttachmentState.ATTACHED);
    result(store.put(a));
    result(store.put(attachment("vm1", "dpu-b", AttachmentState.ATTACHED)));
    result(store.put(attachment("vm2", "dpu-a", AttachmentState.ATTACHED)));
    result(store.put(attachment("vm1", "dpu-b", AttachmentState.DETACHING)));
    result(store.remove("vm2", "dpu-a"));
    result(store.remove("vm2", "never-there"));
    result(store.close());

    StateStore reopened = result(StateStore.open(VERTX.get(), file));
    assertThat(result(reopened.list("vm1"))).containsExactly(a, attachment("vm1", "dpu-b", AttachmentState.DETACHING));
    assertThat(result(reopened.list("vm2"))).isEmpty();
    result(reopened.close());
  }

  @Test
  void workAfterCloseIsAClearError() {
    Path file = dir.resolve(StateStore.FILE_NAME);
    StateStore store = result(StateStore.open(VERTX.get(), file));
    result(store.close());

    SidecarException e = (SidecarException) failure(store.remove("vm1", "dpu-a"));

    assertThat(e.getMessage()).contains("remove attachment vm1/dpu-a").contains("closed").contains("stopping");
    assertThat(e.details()).containsEntry("path", file.toString());
    result(store.close());
  }

  @Test
  void aMissingDirectoryIsAClearError() {
    SidecarException e = (SidecarException) failure(
        StateStore.open(VERTX.get(), dir.resolve("nope/sidecar.db")));

    assertThat(e.getMessage()).contains("does not exist").contains("create it");
  }

  @Test
  void anEmptyFileIsLostStateNotANewStore() throws Exception {
    Path file = Files.createFile(dir.resolve(StateStore.FILE_NAME));

    SidecarException e = (SidecarException) failure(StateStore.open(VERTX.get(), file));

    assertThat(e.code()).isEqualTo("state-store-corrupt");
    assertThat(e.getMessage()).contains("is empty (0 bytes)").contains("mv " + file + " " + file + ".broken");
    assertThat(Files.size(file)).as("nothing was written over it").isZero();
  }

  @Test
  void aFileOfAnotherShapeIsRefusedUntouched() throws Exception {
    Path foreign = dir.resolve("foreign.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + foreign); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE outbox(seq INTEGER, body TEXT)");
    }
    Path reshaped = dir.resolve("reshaped.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + reshaped); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE attachments(vm TEXT, id TEXT, json TEXT, extra INTEGER)");
    }

    SidecarException notOurs = (SidecarException) failure(StateStore.open(VERTX.get(), foreign));
    SidecarException otherShape = (SidecarException) failure(StateStore.open(VERTX.get(), reshaped));

    assertThat(notOurs.code()).isEqualTo("state-store-corrupt");
    assertThat(notOurs.getMessage()).contains("is not a qmp-sidecar state store").contains("[outbox]");
    assertThat(otherShape.getMessage()).contains("columns [vm, id, json, extra]");
  }

  @Test
  void oneUnreadableRowIsQuarantinedAndTheOthersStay() throws Exception {
    Path file = dir.resolve(StateStore.FILE_NAME);
    StateStore store = result(StateStore.open(VERTX.get(), file));
    result(store.put(attachment("vm1", "dpu-a", AttachmentState.ATTACHED)));
    result(store.put(attachment("vm1", "dpu-b", AttachmentState.ATTACHED)));
    result(store.close());
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
      s.execute("UPDATE attachments SET body = '{\"vm\":\"vm1\",\"id\":' WHERE id = 'dpu-b'");
    }

    StateStore reopened = result(StateStore.open(VERTX.get(), file));
    assertThat(result(reopened.list("vm1"))).extracting(Attachment::id).containsExactly("dpu-a");
    assertThat(result(reopened.list("vm1"))).extracting(Attachment::id).containsExactly("dpu-a");
    result(reopened.close());
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT vm, id, body, reason FROM quarantine")) {
      assertThat(rs.next()).as("the bad row is kept in quarantine").isTrue();
      assertThat(rs.getString("id")).isEqualTo("dpu-b");
      assertThat(rs.getString("body")).isEqualTo("{\"vm\":\"vm1\",\"id\":");
      assertThat(rs.getString("reason")).isNotBlank();
      assertThat(rs.next()).isFalse();
    }
  }
}
