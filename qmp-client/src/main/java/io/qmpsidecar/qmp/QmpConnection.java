package io.qmpsidecar.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A negotiated QMP session with one QEMU. All methods may be called from any thread; futures
 * complete on the connection's event loop.
 *
 * <p>Every command future fails with {@link QmpCommandException} when QEMU answers with an
 * error, {@link QmpTimeoutException} when no reply comes in time, {@link QmpClosedException}
 * when the socket closes first, {@link QmpQueueFullException} when too many commands already
 * wait, and {@link QmpConnectionException} when the connection is not ready.
 */
public interface QmpConnection {

  QmpState state();

  /** Called with each state change, in order, on the connection's event loop. */
  void onStateChange(Consumer<QmpState> listener);

  /** The greeting of the current session (it changes after a reconnect). */
  QmpGreeting greeting();

  /**
   * The process at the other end of the current session's Unix socket (QEMU), as the kernel
   * reports it; empty over TCP, without Vert.x's native epoll transport, and while not connected.
   */
  default Optional<QmpPeer> peer() {
    return Optional.empty();
  }

  /** Whether {@code oob} was negotiated on the current session. */
  boolean oobEnabled();

  /** Runs a command with the connection's default timeout. */
  <T> Future<T> execute(QmpCommand<T> command);

  /** Runs a command; {@code timeout} covers the wait for a slot and QEMU's answer. */
  <T> Future<T> execute(QmpCommand<T> command, Duration timeout);

  /** Runs any command and completes with QEMU's {@code return} value. */
  default Future<JsonNode> execute(String name, ObjectNode arguments) {
    return execute(QmpCommand.raw(name, arguments));
  }

  /**
   * Runs an in-band command with file descriptors attached as {@code SCM_RIGHTS}, for the
   * commands that take one from the monitor ({@code getfd}, {@code add-fd}). The descriptors go
   * in one {@code sendmsg} with a single space just before the command's line, so QEMU receives
   * them with that command. QEMU keeps only the descriptors of the last message that carried
   * some until a command takes them, so this command waits until nothing else is in flight,
   * and commands submitted after it are sent after it. QEMU takes the first descriptor and
   * closes any others.
   *
   * <p>Needs a Unix socket and Vert.x's native epoll transport
   * ({@code netty-transport-native-epoll} on the classpath, {@code setPreferNativeTransport(true)}).
   * QEMU receives duplicates: the caller keeps and closes {@code fds}, after the future
   * completes.
   *
   * @param fds 1 to 16 open descriptors
   * @return the command's future; fails with {@link QmpFdPassingException} when the
   *     descriptors cannot be passed (the command is then not sent), else as {@link #execute}
   * @throws IllegalArgumentException when {@code fds} is empty, too long or holds a closed one
   */
  <T> Future<T> executeWithFds(QmpCommand<T> command, List<UnixFd> fds);

  /**
   * Sends a command with {@code exec-oob}, ahead of queued in-band commands. Fails with
   * {@link QmpConnectionException} when {@code oob} was not negotiated; QEMU itself refuses
   * commands that do not support OOB.
   */
  <T> Future<T> executeOob(QmpCommand<T> command);

  /**
   * Asks QEMU to remove a device and waits up to {@code wait} for its {@code DEVICE_DELETED}
   * (matched on the device id or the exact QOM path, never on a child object's path).
   *
   * @param idOrPath a device id, or a QOM path starting with {@code /}
   * @return {@link UnplugOutcome#DELETED}, or {@link UnplugOutcome#PENDING} when the request
   *     was accepted but the guest has not released the device within {@code wait}; fails with
   *     {@link QmpCommandException} when QEMU refuses the request (e.g. {@code DeviceNotFound})
   */
  Future<UnplugOutcome> deviceDel(String idOrPath, Duration wait);

  /**
   * A view of this connection that reports every command sent through it (the {@code device_del}
   * of {@link #deviceDel} included) to {@code observer}, e.g. to log each with its QMP id. State,
   * events and the command pipeline are this connection's; closing the view closes it. A view of
   * a view reports to both observers, the earlier one first; a command with an observer of its own
   * ({@link QmpCommand#observedBy}) is reported to that one first, then to the view's.
   */
  QmpConnection observedBy(QmpCommandObserver observer);

  /** QEMU's QAPI schema, fetched once per session on first use. */
  Future<QmpSchema> schema();

  /** Subscribes with the connection's default queue capacity. */
  QmpSubscription subscribe(EventFilter filter, QmpEventListener listener);

  /** Subscribes with its own queue capacity (at least 1). */
  QmpSubscription subscribe(EventFilter filter, int queueCapacity, QmpEventListener listener);

  /** Commands sent to QEMU and not yet answered (including timed-out ones QEMU still holds). */
  int inFlight();

  /** Commands waiting for an in-flight slot. */
  int queued();

  /**
   * Closes the connection for good: in-flight and queued commands fail with
   * {@link QmpClosedException}; no reconnect follows.
   */
  Future<Void> close();

  default Future<VmStatus> queryStatus() {
    return execute(QmpCommands.queryStatus());
  }

  default Future<QmpVersion> queryVersion() {
    return execute(QmpCommands.queryVersion());
  }

  default Future<List<PciDevice>> queryPci() {
    return execute(QmpCommands.queryPci());
  }

  default Future<List<ObjectProperty>> qomList(String path) {
    return execute(QmpCommands.qomList(path));
  }

  default Future<JsonNode> qomGet(String path, String property) {
    return execute(QmpCommands.qomGet(path, property));
  }

  default Future<Void> deviceAdd(ObjectNode properties) {
    return execute(QmpCommands.deviceAdd(properties));
  }

  /**
   * {@code getfd}: passes {@code fd} to QEMU, which holds it as {@code fdname} (for
   * {@code fd=NAME} properties) until {@code closefd}. An existing name is replaced.
   */
  default Future<Void> getfd(String fdname, UnixFd fd) {
    return executeWithFds(QmpCommands.getfd(fdname), List.of(fd));
  }

  /** {@code closefd}: QEMU closes what it holds as {@code fdname}. */
  default Future<Void> closefd(String fdname) {
    return execute(QmpCommands.closefd(fdname));
  }

  /**
   * {@code add-fd}: passes {@code fd} to QEMU into an fd set ({@code /dev/fdset/ID} paths).
   *
   * @param fdsetId the set, or null for a new one
   * @param opaque text QEMU keeps with it, or null
   */
  default Future<AddedFd> addFd(UnixFd fd, Integer fdsetId, String opaque) {
    return executeWithFds(QmpCommands.addFd(fdsetId, opaque), List.of(fd));
  }

  /** {@code remove-fd}: {@code fd} (QEMU's number) out of the set, or the whole set when null. */
  default Future<Void> removeFd(int fdsetId, Integer fd) {
    return execute(QmpCommands.removeFd(fdsetId, fd));
  }

  default Future<List<FdSet>> queryFdsets() {
    return execute(QmpCommands.queryFdsets());
  }

  default Future<Void> stop() {
    return execute(QmpCommands.stop());
  }

  default Future<Void> cont() {
    return execute(QmpCommands.cont());
  }

  default Future<Void> systemReset() {
    return execute(QmpCommands.systemReset());
  }

  default Future<Void> migrateSetCapabilities(Map<String, Boolean> capabilities) {
    return execute(QmpCommands.migrateSetCapabilities(capabilities));
  }

  default Future<Void> migrateSetParameters(ObjectNode parameters) {
    return execute(QmpCommands.migrateSetParameters(parameters));
  }

  default Future<Void> migrate(String uri) {
    return execute(QmpCommands.migrate(uri));
  }

  default Future<Void> migrateIncoming(String uri) {
    return execute(QmpCommands.migrateIncoming(uri));
  }

  default Future<Void> migrateCancel() {
    return execute(QmpCommands.migrateCancel());
  }

  default Future<MigrationInfo> queryMigrate() {
    return execute(QmpCommands.queryMigrate());
  }
}
