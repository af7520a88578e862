package io.qmpsidecar.sidecar.events;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where one daemon run's event ids start, so that ids stay unique and increasing across runs:
 * the run's ids are {@link #base()}{@code + 1}, {@code + 2}, ... where the base is the larger of
 * the run's start time in microseconds since 1970 and the ceiling that earlier runs reserved in
 * {@value #FILE_NAME} in the state directory. A run reserves ids {@link #BLOCK} at a time, in
 * that file, ahead of using them (written off the event loop), so a later run starts above every
 * id an earlier one handed out even when the clock went back in between. Ids stay below 2^53,
 * so JavaScript and jq read them exactly (until the year 2255).
 */
public final class EventEpoch {
  private static final Logger LOG = LoggerFactory.getLogger(EventEpoch.class);

  /** The reservation's file in the state directory. */
  public static final String FILE_NAME = "events.epoch";
  /** Ids reserved in one write. */
  static final long BLOCK = 1_000_000;
  /** After a failed write, ids handed out before the next try. */
  private static final long RETRY_AFTER = 10_000;

  private final Vertx vertx;
  private final Path file;
  private final long base;
  private final Instant started;
  private long reserved;
  private long nextTry;
  private boolean writing;

  private EventEpoch(Vertx vertx, Path file, long base, Instant started, long reserved) {
    this.vertx = vertx;
    this.file = file;
    this.base = base;
    this.started = started;
    this.reserved = reserved;
    this.nextTry = reserved - BLOCK / 2;
  }

  /**
   * Ids from 1, kept nowhere: for an event stream that lives and dies with its process (tests,
   * tools); a later process reuses them.
   */
  public static EventEpoch inMemory(Clock clock) {
    return new EventEpoch(null, null, 0, clock.instant(), Long.MAX_VALUE);
  }

  /**
   * Reads the reservation in {@code stateDir} (which must exist), starts this run above it and
   * above the clock, and reserves the first block, all on a worker thread.
   *
   * @return fails when the reservation cannot be written, naming the file and what to do
   */
  public static Future<EventEpoch> open(Vertx vertx, Path stateDir, Clock clock) {
    Path file = stateDir.resolve(FILE_NAME);
    return vertx.executeBlocking(() -> {
      Instant now = clock.instant();
      long micros = Math.addExact(Math.multiplyExact(now.getEpochSecond(), 1_000_000L), now.getNano() / 1_000);
      long base = Math.max(micros, readCeiling(file));
      write(file, base + BLOCK);
      return new EventEpoch(vertx, file, base, now, base + BLOCK);
    }).recover(e -> Future.failedFuture(new IllegalStateException("cannot keep the event ids' reservation in "
        + file + ": " + e.getMessage() + "; make the state directory writable for the sidecar", e)));
  }

  /** The id before this run's first: its ids are greater, and every earlier run's are not. */
  public long base() {
    return base;
  }

  /** When this run started. */
  public Instant started() {
    return started;
  }

  /**
   * Called with each id handed out: reserves the next block once half of this one is used. Ids
   * past the reservation before the write lands stay unique through the clock.
   */
  synchronized void issued(long id) {
    if (file == null || writing || id < nextTry) {
      return;
    }
    writing = true;
    long next = reserved + BLOCK;
    vertx.executeBlocking(() -> {
      write(file, next);
      return null;
    }).onComplete(ar -> reservationWritten(next, ar.cause()));
  }

  private synchronized void reservationWritten(long next, Throwable failure) {
    writing = false;
    if (failure == null) {
      reserved = next;
      nextTry = next - BLOCK / 2;
    } else {
      nextTry += RETRY_AFTER;
      LOG.warn("cannot reserve event ids in {}: {}; ids stay unique while the clock does not go back,"
          + " make the state directory writable", file, failure.getMessage());
    }
  }

  private static long readCeiling(Path file) throws IOException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      return 0;
    }
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      LOG.warn("{} does not hold an event id ('{}'); this run's ids start from the clock", file,
          text.length() > 40 ? text.substring(0, 40) + "..." : text);
      return 0;
    }
  }

  /** Replaces the file's content atomically and durably (write, fsync, rename). */
  private static void write(Path file, long ceiling) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      channel.write(StandardCharsets.UTF_8.encode(ceiling + "\n"));
      channel.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public String toString() {
    return "EventEpoch[base=" + base + ", started=" + started + ", file=" + Objects.toString(file, "(none)") + "]";
  }
}
