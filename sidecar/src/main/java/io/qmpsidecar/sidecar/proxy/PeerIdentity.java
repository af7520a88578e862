package io.qmpsidecar.sidecar.proxy;

/**
 * The process on the other end of a proxy connection, as the kernel reports it (SO_PEERCRED):
 * its user and (effective, primary) group, by number and by name. Epoll reports numbers and the
 * JDK names; {@link LocalAccounts} fills in the other half, -1 or null where the host's account
 * files have no entry.
 *
 * @param pid the peer's process id, or -1 when the transport does not report it
 */
record PeerIdentity(int pid, int uid, int gid, String user, String group) {

  static PeerIdentity ofIds(int pid, int uid, int gid) {
    return new PeerIdentity(pid, uid, gid, null, null);
  }

  static PeerIdentity ofNames(String user, String group) {
    return new PeerIdentity(-1, -1, -1, user, group);
  }

  PeerIdentity withAccounts(LocalAccounts accounts) {
    return new PeerIdentity(pid,
        uid >= 0 ? uid : accounts.uid(user), gid >= 0 ? gid : accounts.gid(group),
        user != null ? user : accounts.user(uid), group != null ? group : accounts.group(gid));
  }

  /** Whether a name or number is still missing that the account files might know. */
  boolean incomplete() {
    return uid < 0 || gid < 0 || user == null || group == null;
  }

  @Override
  public String toString() {
    return "uid " + uid + (user == null ? "" : " (" + user + ")") + ", gid " + gid
        + (group == null ? "" : " (" + group + ")") + (pid < 0 ? "" : ", pid " + pid);
  }
}
