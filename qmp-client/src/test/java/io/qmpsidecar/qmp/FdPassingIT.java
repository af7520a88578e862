package io.qmpsidecar.qmp;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * File descriptors passed to a real QEMU with SCM_RIGHTS ({@code getfd}, {@code add-fd}), checked
 * in QEMU's own {@code /proc/PID/fd}, once per QEMU version.
 */
class FdPassingIT {
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final List<QmpClient> clients = new ArrayList<>();

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    assertThat(vertx.isNativeTransportEnabled())
        .as("Vert.x native transport (netty-transport-native-epoll on the test classpath)").isTrue();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @AfterEach
  void tearDown() throws Exception {
    for (QmpClient client : clients) {
      result(client.close());
    }
    for (AutoCloseable c : cleanup) {
      c.close();
    }
  }

  private QemuProcess qemu(QemuBinary binary, String... extra) {
    QemuProcess q = QemuProcess.startQtest(binary, dir, "vm", 1, extra);
    cleanup.add(q);
    return q;
  }

  private QmpConnection connect(Vertx on, QmpAddress address) {
    QmpClient client = QmpClient.create(on, QmpClientOptions.of(address));
    clients.add(client);
    return result(client.connect());
  }

  private UnixFd open(Path file) throws IOException {
    UnixFd fd = UnixFd.openReadOnly(file);
    cleanup.add(fd);
    return fd;
  }

  private Path file(String name) throws IOException {
    return Files.writeString(dir.resolve(name), name);
  }

  /** The descriptors of process {@code pid} that point at {@code file}, by number. */
  private static List<Integer> fdsOn(long pid, Path file) throws IOException {
    List<Integer> found = new ArrayList<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          if (Files.readSymbolicLink(fd).equals(file.toAbsolutePath())) {
            found.add(Integer.parseInt(fd.getFileName().toString()));
          }
        } catch (IOException e) {
          // closed between the listing and the readlink: not held any more
        }
      }
    }
    return found;
  }

  @QemuTest
  void getfdHandsQemuTheFileAndClosefdClosesIt(QemuBinary binary) throws IOException {
    QemuProcess q = qemu(binary);
    QmpConnection c = connect(vertx, q.qmpAddress());
    Path file = file("disk.img");
    assertThat(fdsOn(q.pid(), file)).isEmpty();

    UnixFd fd = open(file);
    result(c.getfd("disk0", fd));
    fd.close();
    assertThat(fdsOn(ProcessHandle.current().pid(), file)).as("our own copy, closed").isEmpty();
    assertThat(fdsOn(q.pid(), file)).as("QEMU's copy").hasSize(1);

    result(c.closefd("disk0"));
    assertThat(fdsOn(q.pid(), file)).isEmpty();
    assertThat(failure(c.closefd("disk0"))).isInstanceOf(QmpCommandException.class)
        .hasMessageContaining("disk0");
  }

  @QemuTest
  void addFdPutsTheFileIntoAnFdSetAndRemoveFdTakesItOut(QemuBinary binary) throws IOException {
    QemuProcess q = qemu(binary);
    QmpConnection c = connect(vertx, q.qmpAddress());
    Path file = file("iommu-standin");

    AddedFd added = result(c.addFd(open(file), 7, "iommu"));
    assertThat(added.fdsetId()).isEqualTo(7);
    assertThat(fdsOn(q.pid(), file)).containsExactly(added.fd());
    assertThat(result(c.queryFdsets()))
        .containsExactly(new FdSet(7, List.of(new FdSet.Member(added.fd(), "iommu"))));

    result(c.removeFd(7, added.fd()));
    assertThat(result(c.queryFdsets())).isEmpty();
    assertThat(fdsOn(q.pid(), file)).isEmpty();
  }

  @QemuTest
  void eachDescriptorArrivesWithItsOwnCommandWhenManyAreIssuedAtOnce(QemuBinary binary) throws IOException {
    QemuProcess q = qemu(binary);
    QmpConnection c = connect(vertx, q.qmpAddress());
    List<Future<?>> all = new ArrayList<>();
    int n = 12;
    for (int i = 0; i < n; i++) {
      // Plain commands between them: they are pipelined, the ones with descriptors go out alone.
      all.add(c.queryStatus());
      all.add(c.addFd(open(file("f" + i)), null, "f" + i));
      all.add(c.qomList("/machine"));
    }
    all.forEach(f -> result(f));

    List<FdSet> sets = result(c.queryFdsets());
    assertThat(sets).hasSize(n);
    for (FdSet set : sets) {
      FdSet.Member member = set.fds().get(0);
      assertThat(fdsOn(q.pid(), dir.resolve(member.opaque()))).as("what QEMU holds as " + member.opaque())
          .containsExactly(member.fd());
    }
  }

  @QemuTest
  void getfdWithoutADescriptorIsRefusedByQemu(QemuBinary binary) {
    QmpConnection c = connect(vertx, qemu(binary).qmpAddress());
    assertThat(failure(c.execute(QmpCommands.getfd("nothing")))).isInstanceOf(QmpCommandException.class)
        .hasMessageContaining("SCM_RIGHTS");
  }

  @QemuTest
  void overTcpNothingIsSentAndTheConnectionStaysUsable(QemuBinary binary) throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    qemu(binary, "-qmp", "tcp:127.0.0.1:" + port + ",server=on,wait=off");
    QmpConnection c = connect(vertx, QmpAddress.tcp("127.0.0.1", port));
    List<String> observed = new CopyOnWriteArrayList<>();
    QmpConnection view = c.observedBy((name, id, nanos, failure) ->
        observed.add(name + "#" + id + ":" + (failure == null ? "ok" : failure.getClass().getSimpleName())));
    Path file = file("disk.img");
    assertThat(failure(view.getfd("disk0", open(file)))).isInstanceOf(QmpFdPassingException.class)
        .hasMessageContaining("TCP").hasMessageContaining("unix:");
    assertThat(observed).as("the view's observer hears of the command that was never sent")
        .containsExactly("getfd#-1:QmpFdPassingException");
    assertThat(result(c.queryStatus()).running()).isTrue();
  }

  /** On the same native transport, the kernel names the process at the socket's other end: QEMU. */
  @QemuTest
  void thePeerIsTheQemuProcessAsTheKernelReportsIt(QemuBinary binary) throws IOException {
    QemuProcess q = qemu(binary);
    QmpConnection c = connect(vertx, q.qmpAddress());
    Path proc = Path.of("/proc/" + q.pid());

    QmpPeer expected = new QmpPeer(q.pid(), (Integer) Files.getAttribute(proc, "unix:uid"),
        (Integer) Files.getAttribute(proc, "unix:gid"));

    assertThat(c.peer()).contains(expected);
    assertThat(c.observedBy((name, id, nanos, failure) -> { }).peer()).contains(expected);
  }

  @QemuTest
  void withoutTheNativeTransportNothingIsSentAndTheMessageSaysWhatToAdd(QemuBinary binary) throws IOException {
    Vertx nio = Vertx.vertx();
    try {
      QemuProcess q = qemu(binary);
      QmpConnection c = connect(nio, q.qmpAddress());
      Path file = file("disk.img");
      assertThat(failure(c.getfd("disk0", open(file)))).isInstanceOf(QmpFdPassingException.class)
          .hasMessageContaining("netty-transport-native-epoll");
      assertThat(result(c.queryStatus()).running()).isTrue();
      assertThat(fdsOn(q.pid(), file)).isEmpty();
      assertThat(c.peer()).as("no peer credentials without the native transport").isEmpty();
    } finally {
      for (QmpClient client : clients) {
        result(client.close());
      }
      clients.clear();
      result(nio.close());
    }
  }

  @QemuTest
  void aClosedConnectionOrDescriptorSendsNothing(QemuBinary binary) throws IOException {
    QemuProcess q = qemu(binary);
    QmpConnection c = connect(vertx, q.qmpAddress());
    Path file = file("disk.img");
    UnixFd fd = open(file);
    UnixFd closed = open(file);
    closed.close();
    assertThatThrownBy(() -> c.getfd("disk0", closed)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("closed");

    result(c.close());
    assertThat(failure(c.getfd("disk0", fd))).isInstanceOf(QmpConnectionException.class)
        .hasMessageContaining("closed");
    assertThat(fdsOn(q.pid(), file)).isEmpty();
    assertThat(fd.isOpen()).as("the caller's descriptor is the caller's to close").isTrue();
  }
}
