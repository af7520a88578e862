package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import java.util.Locale;

/**
 * QEMU's own migration state ({@code query-migrate}) for the {@code migrate} subcommands with
 * {@code --qmp}, in the shape of the sidecar's migration run as far as it applies, so that the
 * table, the progress display and {@code --output json} read it alike: {@code vm} (the name
 * given, if any), {@code state} (QEMU's status in capitals: ACTIVE, COMPLETED, FAILED,
 * CANCELLED, ...), {@code source} with {@code qemuStatus}, {@code progress} and QEMU's times,
 * and {@code error} (QEMU's error-desc).
 */
final class DirectMigration {
  private DirectMigration() {}

  /**
   * The migration QEMU reports now.
   *
   * @throws SidecarException (exit 1) when QEMU has not migrated since it started
   */
  static ObjectNode current(DirectQmp session, String vm) {
    MigrationInfo info = session.call(QmpCommands.queryMigrate());
    if (info.status().equals("none")) {
      throw ApiClient.failure(Kind.NOT_FOUND, "No migration: " + session.who(vm)
          + " has not migrated since it started");
    }
    return run(info, vm);
  }

  static ObjectNode run(MigrationInfo info, String vm) {
    ObjectNode run = JsonNodeFactory.instance.objectNode();
    if (vm != null) {
      run.put("vm", vm);
    }
    run.put("state", info.status().toUpperCase(Locale.ROOT).replace('-', '_'));
    ObjectNode source = run.putObject("source").put("qemuStatus", info.status());
    source.putObject("progress").put("transferredBytes", info.ramTransferred()).put("remainingBytes", info.ramRemaining())
        .put("totalBytes", info.ramTotal()).put("dirtyPagesRate", info.dirtyPagesRate())
        .put("expectedDowntimeMs", info.expectedDowntimeMs()).put("passes", info.dirtySyncCount());
    source.put("downtimeMs", info.downtimeMs()).put("totalTimeMs", info.totalTimeMs()).put("setupTimeMs", info.setupTimeMs());
    if (info.errorDesc() != null) {
      source.put("errorText", info.errorDesc());
      run.put("error", info.errorDesc());
    }
    return run;
  }
}
