package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.IOException;
import java.time.Duration;

/**
 * What the CLI makes of the sidecar API's answers, and the lines it prints when there is none:
 * one place for both clients of the API, {@link ApiClient} (Vert.x) and the lean path's
 * {@link UnixHttp}, so that they print the same.
 */
final class ApiAnswers {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ApiAnswers() {}

  /**
   * The answer when it is not a problem (any status), its JSON body null when empty.
   *
   * @param api the --api the answer came from, for messages
   * @param contentType the content-type header, or null
   * @throws SidecarException for a problem answer, or a body that is not JSON
   */
  static ApiClient.Response answer(String api, int status, String contentType, byte[] body) {
    String type = String.valueOf(contentType);
    if (type.startsWith("application/problem+json") || status >= 400 && !type.startsWith("application/json")) {
      throw problem(status, body);
    }
    try {
      return new ApiClient.Response(status, body.length == 0 ? null : JSON.readTree(body));
    } catch (IOException e) {
      throw unreachable("the sidecar API at " + api + " answered " + status
          + " with a body that is not JSON; check that --api names a qmp-sidecar");
    }
  }

  /**
   * One line: title and detail, then QEMU's class and text, the policy rule and a fix when given;
   * of the problem's {@code kind}, or of the kind its status stands for when it has none.
   */
  static SidecarException problem(int status, byte[] body) {
    JsonNode p;
    try {
      p = JSON.readTree(body);
    } catch (IOException e) {
      p = JSON.createObjectNode();
    }
    String detail = p.path("detail").asText("");
    StringBuilder line = new StringBuilder(p.path("title").asText("HTTP " + status));
    if (!detail.isEmpty()) {
      line.append(": ").append(detail);
    }
    JsonNode qemu = p.path("qemu");
    if (qemu.has("class") && !detail.contains(qemu.path("desc").asText())) {
      line.append(" (QEMU ").append(qemu.path("class").asText()).append(": ")
          .append(qemu.path("desc").asText()).append(')');
    }
    if (p.hasNonNull("rule") && !detail.contains(p.get("rule").asText())) {
      line.append(" (rule ").append(p.get("rule").asText()).append(')');
    }
    if (p.hasNonNull("fix") && !detail.contains(p.get("fix").asText())) {
      line.append("; fix: ").append(p.get("fix").asText());
    }
    if (p.path("rolledBack").size() > 0) {
      line.append("; rolled back: ").append(String.join(", ", JSON.convertValue(p.get("rolledBack"), String[].class)));
    }
    return SidecarException.of(kind(p.path("kind").asText(""), status), p.path("type").asText("http-" + status),
        line.toString()).build();
  }

  private static Kind kind(String name, int status) {
    for (Kind k : Kind.values()) {
      if (k.name().equalsIgnoreCase(name.replace('-', '_'))) {
        return k;
      }
    }
    return switch (status) {
      case 400 -> Kind.INVALID;
      case 401, 403 -> Kind.DENIED;
      case 429 -> Kind.BUSY;
      case 502, 503 -> Kind.UNAVAILABLE;
      case 504 -> Kind.TIMEOUT;
      default -> Kind.FAILED;
    };
  }

  /** The API could not be reached, or answered nothing usable; {@code line} is the one line printed. */
  static SidecarException unreachable(String line) {
    return SidecarException.of(Kind.UNAVAILABLE, "api-unreachable", line).build();
  }

  /** The API was reached and gave no (whole) answer within {@code wait}. */
  static SidecarException timedOut(String api, Duration wait) {
    return SidecarException.of(Kind.TIMEOUT, "api-timeout", "the sidecar API at " + api + " did not answer within "
        + wait.toSeconds() + " s; check the sidecar's log, or raise --timeout").build();
  }
}
