package io.qmpsidecar.sidecar.proxy;

import io.qmpsidecar.policy.Caller;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How the proxy names a client of a VM's socket, from what the kernel says about the connecting
 * process (SO_PEERCRED), so that policy rules and rate limits follow a caller across
 * connections. Rules map {@code uid:N}, {@code user:NAME}, {@code gid:N} or {@code group:NAME} to
 * a caller name; a user rule beats a group rule. A peer no rule names is {@code proxy:<user>}
 * (its account name), or {@code proxy:uid-<N>} when the name is unknown or not a valid caller
 * name.
 */
final class CallerNames {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
  private static final Pattern KEY = Pattern.compile("(uid|gid):\\d{1,10}|(user|group):[^\\s:]{1,64}");

  private final Map<String, String> rules;

  /**
   * @param rules {@code uid:N}/{@code user:NAME}/{@code gid:N}/{@code group:NAME} to caller name
   * @throws IllegalArgumentException naming the first invalid key or name
   */
  CallerNames(Map<String, String> rules) {
    Map<String, String> copy = new LinkedHashMap<>();
    rules.forEach((key, name) -> {
      if (!KEY.matcher(key).matches()) {
        throw new IllegalArgumentException("proxy caller rule '" + key + "': write uid:NUMBER,"
            + " user:NAME, gid:NUMBER or group:NAME");
      }
      if (!isValidName(name)) {
        throw new IllegalArgumentException("proxy caller rule '" + key + "': the name '" + name
            + "' must be 1-64 characters from A-Z a-z 0-9 . _ @ - (it becomes caller proxy:<name>)");
      }
      copy.put(key, name);
    });
    this.rules = Map.copyOf(copy);
  }

  static boolean isValidName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  Map<String, String> rules() {
    return rules;
  }

  Caller name(PeerIdentity peer) {
    String[] keys = {peer.uid() >= 0 ? "uid:" + peer.uid() : null,
        peer.user() != null ? "user:" + peer.user() : null,
        peer.gid() >= 0 ? "gid:" + peer.gid() : null,
        peer.group() != null ? "group:" + peer.group() : null};
    for (String key : keys) {
      String name = key == null ? null : rules.get(key);
      if (name != null) {
        return Caller.proxy(name);
      }
    }
    if (isValidName(peer.user())) {
      return Caller.proxy(peer.user());
    }
    return Caller.proxy(peer.uid() >= 0 ? "uid-" + peer.uid() : "unknown");
  }
}
