package io.qmpsidecar.qmp.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.vertx.core.Promise;

/** A command between submission and its reply, with the promise of its caller. */
final class PendingCommand<T> {
  final QmpCommand<T> command;
  final boolean oob;
  final Promise<T> promise;
  long id = -1;
  long timerId = -1;
  /** The caller gave up (timeout); QEMU still holds the command and its slot until it answers. */
  boolean abandoned;

  PendingCommand(QmpCommand<T> command, boolean oob, Promise<T> promise) {
    this.command = command;
    this.oob = oob;
    this.promise = promise;
  }

  String name() {
    return command.name();
  }

  ObjectNode arguments() {
    return command.arguments();
  }

  void succeed(JsonNode value) {
    T result;
    try {
      result = command.reply().apply(value);
    } catch (RuntimeException e) {
      promise.tryFail(new QmpProtocolException("cannot read the reply of '" + name() + "': " + e, e));
      return;
    }
    promise.tryComplete(result);
  }

  void fail(String errorClass, String description) {
    promise.tryFail(new QmpCommandException(name(), errorClass, description));
  }

  void fail(Throwable cause) {
    promise.tryFail(cause);
  }
}
