package io.qmpsidecar.sidecar.proxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Names and numbers of the host's users and groups, from {@code /etc/passwd} and
 * {@code /etc/group} (accounts only a directory service knows are not in them: such a peer is
 * named by number). Immutable; {@link #load} does blocking file I/O, so call it off the event
 * loop.
 */
final class LocalAccounts {
  static final LocalAccounts NONE = new LocalAccounts(Map.of(), Map.of(), Map.of(), Map.of());

  private final Map<Integer, String> users;
  private final Map<String, Integer> uids;
  private final Map<Integer, String> groups;
  private final Map<String, Integer> gids;

  private LocalAccounts(Map<Integer, String> users, Map<String, Integer> uids,
      Map<Integer, String> groups, Map<String, Integer> gids) {
    this.users = users;
    this.uids = uids;
    this.groups = groups;
    this.gids = gids;
  }

  static LocalAccounts load(Path passwd, Path group) throws IOException {
    Map<Integer, String> users = new HashMap<>();
    Map<String, Integer> uids = new HashMap<>();
    Map<Integer, String> groups = new HashMap<>();
    Map<String, Integer> gids = new HashMap<>();
    read(passwd, users, uids);
    read(group, groups, gids);
    return new LocalAccounts(Map.copyOf(users), Map.copyOf(uids), Map.copyOf(groups), Map.copyOf(gids));
  }

  /** Reads {@code name:x:number:…} lines; the first entry of a name or number counts. */
  private static void read(Path file, Map<Integer, String> names, Map<String, Integer> numbers)
      throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return;
    }
    for (String line : lines) {
      String[] f = line.split(":", -1);
      if (f.length < 3 || f[0].isEmpty() || line.startsWith("#")) {
        continue;
      }
      try {
        int id = Integer.parseInt(f[2]);
        names.putIfAbsent(id, f[0]);
        numbers.putIfAbsent(f[0], id);
      } catch (NumberFormatException e) {
        // A line that is not an account (e.g. a NIS "+" entry): not a name we can map.
      }
    }
  }

  String user(int uid) {
    return users.get(uid);
  }

  String group(int gid) {
    return groups.get(gid);
  }

  int uid(String user) {
    return user == null ? -1 : uids.getOrDefault(user, -1);
  }

  int gid(String group) {
    return group == null ? -1 : gids.getOrDefault(group, -1);
  }
}
