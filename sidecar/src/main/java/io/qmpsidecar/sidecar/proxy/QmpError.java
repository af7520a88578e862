package io.qmpsidecar.sidecar.proxy;

/** An error the proxy answers itself, in QEMU's form: {@code {"error":{"class":…,"desc":…}}}. */
record QmpError(String errorClass, String desc) {

  static QmpError generic(String desc) {
    return new QmpError("GenericError", desc);
  }

  static QmpError commandNotFound(String desc) {
    return new QmpError("CommandNotFound", desc);
  }
}
