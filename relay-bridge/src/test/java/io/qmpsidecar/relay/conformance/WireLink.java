package io.qmpsidecar.relay.conformance;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One WebSocket seen as raw JSON text: what the test writes goes out as is (one frame, several
 * fragments, or binary), and every text message the other end sends is queued, in order, with
 * the time it arrived. The black-box view of an end under test: frames in, frames out.
 */
public final class WireLink {

  /** A message as received, with its arrival time (System.nanoTime). */
  public record Received(JsonObject json, long atNanos) {}

  /** Longest wait of {@link #next()} and friends. */
  public static final Duration WAIT = Duration.ofSeconds(15);

  private final WebSocketBase ws;
  private final BlockingQueue<Received> inbox = new ArrayBlockingQueue<>(100_000);
  private final List<String> unparsable = new ArrayList<>();
  private final List<Received> kept = new ArrayList<>();
  private volatile boolean closed;
  private volatile long closedAtNanos;
  private volatile Short closeStatus;
  private volatile String closeReason;

  WireLink(WebSocketBase ws) {
    this.ws = ws;
    ws.textMessageHandler(text -> {
      try {
        inbox.offer(new Received(new JsonObject(text), System.nanoTime()));
      } catch (RuntimeException e) {
        synchronized (unparsable) {
          unparsable.add(text);
        }
      }
    });
    ws.closeHandler(v -> {
      closeStatus = ws.closeStatusCode();
      closeReason = ws.closeReason();
      closedAtNanos = System.nanoTime();
      closed = true;
    });
  }

  /** Sends one text message as one frame. */
  public void send(String json) {
    Wire.await(ws.writeFrame(WebSocketFrame.textFrame(json, true)));
  }

  /** Sends an ASCII text message split into frames of {@code fragmentBytes}. */
  public void sendFragmented(String json, int fragmentBytes) {
    for (int off = 0; off < json.length(); off += fragmentBytes) {
      int end = Math.min(json.length(), off + fragmentBytes);
      String part = json.substring(off, end);
      boolean last = end == json.length();
      Wire.await(ws.writeFrame(off == 0 ? WebSocketFrame.textFrame(part, last)
          : WebSocketFrame.continuationFrame(Buffer.buffer(part), last)));
    }
  }

  /** Sends a binary message. */
  public void sendBinary(byte[] data) {
    Wire.await(ws.writeFrame(WebSocketFrame.binaryFrame(Buffer.buffer(data), true)));
  }

  /** The next message that is not a {@code relay.ping}; fails the test after {@link #WAIT}. */
  public JsonObject next() {
    return nextMatching("any message", m -> true);
  }

  /** The next message (pings included) matching {@code what}; earlier non-matching ones are skipped. */
  public JsonObject nextMatching(String what, Predicate<JsonObject> test) {
    Received r = nextReceived(what, test, WAIT);
    return r.json();
  }

  /**
   * As {@link #nextMatching} with the arrival time. Pings are passed over unless {@code what} is
   * {@link Wire#PING}; other messages that do not match are kept, in order, for later searches.
   */
  public Received nextReceived(String what, Predicate<JsonObject> test, Duration wait) {
    synchronized (kept) {
      for (int i = 0; i < kept.size(); i++) {
        if (test.test(kept.get(i).json())) {
          return kept.remove(i);
        }
      }
    }
    long deadline = System.nanoTime() + wait.toNanos();
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        Received r = left <= 0 ? null : inbox.poll(left, TimeUnit.NANOSECONDS);
        if (r == null) {
          throw new AssertionError("waited " + wait.toMillis() + " ms for " + what + " from the end under test; none came"
              + (closed ? " (the link closed, status " + closeStatus + ")" : "") + "; got meanwhile " + keptText());
        }
        boolean ping = Wire.PING.equals(r.json().getString("method"));
        if (ping && !Wire.PING.equals(what)) {
          continue;
        }
        if (test.test(r.json())) {
          return r;
        }
        if (!ping) {
          synchronized (kept) {
            kept.add(r);
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for " + what, e);
    }
  }

  /** Every message received and not yet taken by a search, pings left out, in order. */
  public List<JsonObject> drain() {
    List<JsonObject> out = new ArrayList<>();
    synchronized (kept) {
      kept.forEach(r -> out.add(r.json()));
      kept.clear();
    }
    for (Received r = inbox.poll(); r != null; r = inbox.poll()) {
      if (!Wire.PING.equals(r.json().getString("method"))) {
        out.add(r.json());
      }
    }
    return out;
  }

  private String keptText() {
    synchronized (kept) {
      return kept.stream().map(r -> r.json().encode()).map(t -> t.length() > 300 ? t.substring(0, 300) + "..." : t)
          .toList().toString();
    }
  }

  /** The answer (result or error) to the request with this id. */
  public JsonObject answerTo(Object id) {
    return nextMatching("the answer to request id " + id, m -> m.containsKey("id") && !m.containsKey("method")
        && String.valueOf(id).equals(String.valueOf(m.getValue("id"))));
  }

  /** Sends a request and returns its answer. */
  public JsonObject call(Object id, String method, JsonObject params) {
    send(Wire.request(id, method, params).encode());
    return answerTo(id);
  }

  /** Nothing but pings arrives for {@code quiet}; fails with what came instead. */
  public void expectSilence(Duration quiet) {
    if (!keptText().equals("[]")) {
      throw new AssertionError("expected nothing but got " + keptText());
    }
    long deadline = System.nanoTime() + quiet.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        Received r = inbox.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (r != null && !Wire.PING.equals(r.json().getString("method"))) {
          throw new AssertionError("expected nothing but got " + r.json().encode());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  public boolean isClosed() {
    return closed;
  }

  /** Waits until the other end closes the link; fails the test after {@code wait}. */
  public void awaitClosed(Duration wait) {
    Wire.until("the link to close", wait, () -> closed);
  }

  /** System.nanoTime when the link closed, 0 while it is open. */
  public long closedAtNanos() {
    return closedAtNanos;
  }

  /** The close status the other end sent, or null. */
  public Short closeStatus() {
    return closeStatus;
  }

  /** The close reason the other end sent, or null. */
  public String closeReason() {
    return closeReason;
  }

  /** Text messages that were not JSON objects (the end under test must never send one). */
  public List<String> unparsable() {
    synchronized (unparsable) {
      return List.copyOf(unparsable);
    }
  }

  /** Closes the link from this side. */
  public void close() {
    if (!closed) {
      Wire.await(ws.close());
    }
  }
}
