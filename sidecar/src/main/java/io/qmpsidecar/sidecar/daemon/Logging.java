package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the log format (human lines on a terminal, JSON lines under systemd or on request),
 * whether lines carry journald priorities, and where the audit goes.
 */
public final class Logging {
  private static final Path STDERR = Path.of("/proc/self/fd/2");

  private Logging() {}

  /**
   * @param format {@code auto}, {@code human} or {@code json}; auto means JSON when systemd
   *     started the process ({@code INVOCATION_ID} or {@code JOURNAL_STREAM} is set)
   * @param auditFile the file for the audit records (created mode 640 if missing), or null to
   *     keep them on stderr with the other lines
   * @param verbose log at INFO in the human format too
   * @throws SidecarException {@code CONFIGURATION} when the audit file cannot be opened
   */
  public static void configure(String format, Path auditFile, boolean verbose, Map<String, String> env) {
    boolean json = format.equals("json")
        || (format.equals("auto") && (env.containsKey("INVOCATION_ID") || env.containsKey("JOURNAL_STREAM")));
    boolean journal = isJournal(env.get("JOURNAL_STREAM"), STDERR);
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    if (auditFile != null) {
      openable(auditFile);
    }
    if (json || journal || auditFile != null) {
      LogConfigurator.apply(context, json, journal, auditFile);
    }
    if (verbose) {
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.INFO);
    }
  }

  /**
   * Reopens the audit file by its configured name, as logrotate expects of a daemon it sends
   * SIGHUP after moving the file away: the records that follow go to a new file (created mode
   * 640), the moved one keeps those before. Does nothing when {@code log.auditFile} is not set.
   *
   * @throws SidecarException {@code CONFIGURATION} when the file cannot be created or opened
   *     (the records keep going to the moved file)
   */
  public static void reopenAuditFile() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)
        || !(context.getLogger(LogConfigurator.AUDIT_LOGGER)
            .getAppender(LogConfigurator.AUDIT_APPENDER) instanceof FileAppender<ILoggingEvent> file)) {
      return;
    }
    Path path = Path.of(file.getFile());
    openable(path);
    try {
      file.openFile(file.getFile());
    } catch (IOException e) {
      throw SidecarException.of(Kind.CONFIGURATION, "audit-file-unwritable", "log.auditFile: cannot reopen " + path
          + " (" + e + "); the audit records still go to the file it was before it moved: give the daemon's user"
          + " write access to " + path.getParent() + " and send SIGHUP again").cause(e).build();
    }
  }

  /**
   * Whether {@code stream}, systemd's {@code JOURNAL_STREAM} ({@code DEVICE:INODE} of the
   * journal's socket), is {@code stderr}: a process started by a service inherits the variable
   * even when its stderr goes elsewhere, and a file must get no priority prefixes.
   */
  static boolean isJournal(String stream, Path stderr) {
    if (stream == null) {
      return false;
    }
    try {
      Map<String, Object> file = Files.readAttributes(stderr, "unix:dev,ino");
      return stream.equals(file.get("dev") + ":" + file.get("ino"));
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }

  /** Fails, saying why, unless {@code file} can be appended to; creates it mode 640 (it names callers and commands). */
  private static void openable(Path file) {
    try {
      if (!Files.exists(file)) {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")));
      }
      Files.newOutputStream(file, StandardOpenOption.APPEND).close();
    } catch (IOException | UnsupportedOperationException e) {
      throw SidecarException.of(Kind.CONFIGURATION, "audit-file-unwritable", "log.auditFile: cannot append to "
          + file + " (" + e + "); create its directory, give the daemon's user write access, or unset log.auditFile")
          .cause(e).build();
    }
  }
}
