package io.qmpsidecar.qmp.impl;

import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandObserver;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpGreeting;
import io.qmpsidecar.qmp.QmpPeer;
import io.qmpsidecar.qmp.QmpSchema;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.QmpSubscription;
import io.qmpsidecar.qmp.UnixFd;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/** {@link QmpConnection#observedBy}: the same connection, its commands reported to an observer. */
final class ObservedConnection implements QmpConnection {
  private final QmpConnectionImpl connection;
  private final QmpCommandObserver observer;

  ObservedConnection(QmpConnectionImpl connection, QmpCommandObserver observer) {
    this.connection = connection;
    this.observer = observer;
  }

  @Override
  public QmpState state() {
    return connection.state();
  }

  @Override
  public void onStateChange(Consumer<QmpState> listener) {
    connection.onStateChange(listener);
  }

  @Override
  public QmpGreeting greeting() {
    return connection.greeting();
  }

  @Override
  public Optional<QmpPeer> peer() {
    return connection.peer();
  }

  @Override
  public boolean oobEnabled() {
    return connection.oobEnabled();
  }

  @Override
  public <T> Future<T> execute(QmpCommand<T> command) {
    return connection.execute(observed(command));
  }

  @Override
  public <T> Future<T> execute(QmpCommand<T> command, Duration timeout) {
    return connection.execute(observed(command), timeout);
  }

  @Override
  public <T> Future<T> executeOob(QmpCommand<T> command) {
    return connection.executeOob(observed(command));
  }

  @Override
  public <T> Future<T> executeWithFds(QmpCommand<T> command, List<UnixFd> fds) {
    return connection.executeWithFds(observed(command), fds);
  }

  @Override
  public Future<UnplugOutcome> deviceDel(String idOrPath, Duration wait) {
    return connection.deviceDel(idOrPath, wait, observer);
  }

  @Override
  public QmpConnection observedBy(QmpCommandObserver other) {
    return new ObservedConnection(connection, both(observer, other));
  }

  /** The command reported to this view's observer, and to its own observer if it has one. */
  private <T> QmpCommand<T> observed(QmpCommand<T> command) {
    QmpCommandObserver own = command.observer();
    return command.observedBy(own == null ? observer : both(own, observer));
  }

  private static QmpCommandObserver both(QmpCommandObserver first, QmpCommandObserver second) {
    return (name, id, nanos, failure) -> {
      first.completed(name, id, nanos, failure);
      second.completed(name, id, nanos, failure);
    };
  }

  @Override
  public Future<QmpSchema> schema() {
    return connection.schema();
  }

  @Override
  public QmpSubscription subscribe(EventFilter filter, QmpEventListener listener) {
    return connection.subscribe(filter, listener);
  }

  @Override
  public QmpSubscription subscribe(EventFilter filter, int queueCapacity, QmpEventListener listener) {
    return connection.subscribe(filter, queueCapacity, listener);
  }

  @Override
  public int inFlight() {
    return connection.inFlight();
  }

  @Override
  public int queued() {
    return connection.queued();
  }

  @Override
  public Future<Void> close() {
    return connection.close();
  }
}
