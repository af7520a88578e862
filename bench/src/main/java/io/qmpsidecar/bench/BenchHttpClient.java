package io.qmpsidecar.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The HTTP counterpart of {@link RawQmpClient}: HTTP/1.1 over one blocking Unix socket, requests
 * as prepared bytes, responses framed by {@code Content-Length} and otherwise not parsed, so that
 * the client costs as little as possible next to the server it measures. Pipelining sends up to a
 * window of requests before reading their responses, in order.
 */
final class BenchHttpClient implements AutoCloseable {
  private final LineSocket socket;
  private final StringBuilder errorBody = new StringBuilder();

  BenchHttpClient(Path path) throws IOException {
    socket = new LineSocket(path, false);
  }

  static byte[] post(String uri, String body) {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    String head = "POST " + uri + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + b.length + "\r\n\r\n";
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[h.length + b.length];
    System.arraycopy(h, 0, all, 0, h.length);
    System.arraycopy(b, 0, all, h.length, b.length);
    return all;
  }

  static byte[] get(String uri) {
    return ("GET " + uri + " HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** Sends one request and returns the response's status. */
  int call(byte[] request) throws IOException {
    socket.write(request);
    return readResponse();
  }

  /** Sends one request and returns the response's body, which must come with status 200. */
  String body(byte[] request) throws IOException {
    socket.write(request);
    StringBuilder body = new StringBuilder();
    expectOk(readResponse(body));
    return body.toString();
  }

  /** One request that must answer 200, in nanoseconds. */
  long roundTrip(byte[] request) throws IOException {
    long start = System.nanoTime();
    expectOk(call(request));
    return System.nanoTime() - start;
  }

  /** {@code count} requests with at most {@code window} outstanding; returns requests/s. */
  double pipelined(byte[] request, int count, int window) throws IOException {
    long start = System.nanoTime();
    int sent = 0;
    int received = 0;
    while (received < count) {
      while (sent < count && sent - received < window) {
        socket.write(request);
        sent++;
      }
      expectOk(readResponse());
      received++;
    }
    return count / ((System.nanoTime() - start) / 1e9);
  }

  private void expectOk(int status) throws IOException {
    if (status != 200) {
      throw new IOException("HTTP status " + status + ": " + errorBody);
    }
  }

  private int readResponse() throws IOException {
    return readResponse(null);
  }

  /** Reads one response; its body goes to {@code keep} when given, else (for an error) to {@code errorBody}. */
  private int readResponse(StringBuilder keep) throws IOException {
    int status = Integer.parseInt(socket.readLine().substring(9, 12));
    long length = -1;
    for (StringBuilder line = socket.readLine(); line.length() > 0; line = socket.readLine()) {
      if (line.length() > 15 && line.substring(0, 15).equalsIgnoreCase("content-length:")) {
        length = Long.parseLong(line.substring(15).trim());
      }
    }
    if (length < 0) {
      throw new IOException("a response without Content-Length");
    }
    errorBody.setLength(0);
    socket.readBytes(length, status != 200 ? errorBody : keep);
    return status;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
