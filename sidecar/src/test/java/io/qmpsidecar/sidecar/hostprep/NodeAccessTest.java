package io.qmpsidecar.sidecar.hostprep;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.QmpPeer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's rights on a {@code /dev/vfio/N}, from the node's real owner, group and mode (set with
 * chown and chmod: the tests run as root) and a {@code /proc/PID/status} written here, as the
 * kernel writes it.
 */
class NodeAccessTest {
  private static final long PID = 4242;
  /** What the socket said: the ids QEMU had when it listened. */
  private static final QmpPeer AS_ROOT = new QmpPeer(PID, 0, 0);

  @TempDir Path dir;
  private Path node;
  private Path proc;

  @BeforeEach
  void setUp() throws Exception {
    node = Files.writeString(dir.resolve("12"), "");
    proc = dir.resolve("proc");
    Files.createDirectories(proc.resolve(Long.toString(PID)));
  }

  private void node(int uid, int gid, String mode) throws Exception {
    Files.setAttribute(node, "unix:uid", uid);
    Files.setAttribute(node, "unix:gid", gid);
    Files.setAttribute(node, "unix:mode", Integer.parseInt(mode, 8));
  }

  private void status(int uid, int gid, String groups) throws Exception {
    Files.writeString(proc.resolve(PID + "/status"), "Name:\tqemu-system-x86\nUid:\t" + uid + "\t" + uid + "\t" + uid
        + "\t" + uid + "\nGid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid + "\nGroups:\t" + groups + "\n");
  }

  private Optional<String> denied(QmpPeer peer) {
    return NodeAccess.deniedTo(node, peer, proc);
  }

  @Test
  void aQemuThatDroppedRootIsJudgedByWhatItRunsAsNow() throws Exception {
    node(0, 0, "600");
    status(64055, 64055, "");

    assertThat(denied(AS_ROOT)).contains(node + " is not readable and writable by QEMU (pid 4242, uid 64055, gid 64055,"
        + " groups []): it is owned by uid 0, gid 0, mode 0600");
    node(64055, 0, "600");
    assertThat(denied(AS_ROOT)).isEmpty();
  }

  @Test
  void rootMayAndTheOwnerByTheOwnersBitsAlone() throws Exception {
    node(0, 0, "000");
    status(0, 0, "0");
    assertThat(denied(AS_ROOT)).isEmpty();

    status(1000, 1000, "36");
    node(1000, 36, "060");
    assertThat(denied(AS_ROOT)).as("the owner class decides, even when the group's bits would grant").isPresent();
  }

  @Test
  void aMemberOfTheNodesGroupBySupplementaryGroupMay() throws Exception {
    node(0, 36, "660");
    status(1000, 1000, "24 36");
    assertThat(denied(AS_ROOT)).isEmpty();

    status(1000, 1000, "24");
    assertThat(denied(AS_ROOT)).get().asString().contains("groups [24]").endsWith("mode 0660");
    node(0, 36, "666");
    assertThat(denied(AS_ROOT)).as("the others' bits").isEmpty();
  }

  @Test
  void withoutProcOnlyTheSocketsIdsAreKnownAndAGroupThatCouldGrantIsNotRefused() throws Exception {
    QmpPeer peer = new QmpPeer(PID, 1000, 1000);
    node(0, 36, "660");
    assertThat(denied(peer)).as("its supplementary groups are unknown").isEmpty();

    node(0, 36, "600");
    assertThat(denied(peer)).contains(node + " is not readable and writable by QEMU (pid 4242, uid 1000, gid 1000):"
        + " it is owned by uid 0, gid 36, mode 0600");
    node(0, 1000, "660");
    assertThat(denied(peer)).as("its primary group from the socket").isEmpty();
  }
}
