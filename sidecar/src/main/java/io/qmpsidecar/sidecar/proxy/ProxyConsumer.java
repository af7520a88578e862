package io.qmpsidecar.sidecar.proxy;

/**
 * A socket of its own for one consumer of a VM's proxy (a backup agent, a monitoring script):
 * every client of it is caller {@code proxy:<name>}, whoever connects, and the file system
 * decides who may connect.
 *
 * @param name the caller name, 1-64 characters from {@code A-Z a-z 0-9 . _ @ -}; the socket is
 *     {@code <vm>.<name>.qmp} beside the VM's main proxy socket
 * @param group the group that may connect (the socket gets this group and mode 0660), or null
 *     for the sidecar's own user only (mode 0600)
 */
public record ProxyConsumer(String name, String group) {

  public ProxyConsumer {
    if (!CallerNames.isValidName(name)) {
      throw new IllegalArgumentException("proxy consumer name '" + name + "' must be 1-64"
          + " characters from A-Z a-z 0-9 . _ @ - (it becomes caller proxy:<name>)");
    }
    if (group != null && group.isBlank()) {
      throw new IllegalArgumentException("proxy consumer '" + name + "': group is empty; name a"
          + " group or leave it out");
    }
  }
}
