package io.qmpsidecar.relay.impl;

import java.util.Locale;

/** Which addresses count as loopback for the plain-transport rule of both ends. */
public final class Loopback {

  private Loopback() {}

  /** True for {@code localhost} and loopback IP literals; no name is resolved. */
  public static boolean isLoopback(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    return h.equals("localhost") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1")
        || h.matches("127(\\.\\d{1,3}){3}");
  }
}
