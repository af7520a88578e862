package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * A blocking client of a running sidecar's HTTP API for the CLI thread (never an event loop):
 * every call waits at most {@code --timeout}. An RFC 9457 problem answer becomes a
 * {@link SidecarException} of the problem's kind, with one line for the user.
 */
final class ApiClient implements AutoCloseable {
  static final String DEFAULT_API = "unix:/run/qmp-sidecar/api.sock";
  /**
   * How long attach, detach and live update wait for the daemon by default: longer than the
   * daemon's own default bounds (timeouts.attach 60 s, timeouts.detach 30 s, each step of a live
   * update 20 s).
   */
  static final long OPERATION_WAIT_SECONDS = 300;

  /** The options of every command that talks to the API. */
  static final class Options {
    @Option(names = "--api", paramLabel = "ADDRESS", defaultValue = "${env:QMP_SIDECAR_API:-" + DEFAULT_API + "}",
        description = "The sidecar's API: unix:PATH, http://HOST:PORT or https://HOST:PORT (default:"
            + " $QMP_SIDECAR_API, else " + DEFAULT_API + ").")
    String api;

    @Option(names = "--api-ca", paramLabel = "FILE", defaultValue = "${env:QMP_SIDECAR_API_CA}",
        description = "For https://: the PEM certificate of the CA that signed the API's certificate (or the"
            + " certificate itself when self-signed) (default: $QMP_SIDECAR_API_CA, else the JVM's trusted CAs).")
    Path apiCa;

    @Option(names = "--token-file", paramLabel = "FILE",
        description = "File whose first line is the bearer token for an http:// or https:// API (api.tokensFile).")
    Path tokenFile;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
        description = "Longest wait for connecting and for each answer (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    /**
     * Without an explicit {@code --timeout}, waits {@link #OPERATION_WAIT_SECONDS}: for calls that
     * last as long as the daemon's own bound on the operation (attach, detach, live update), so
     * the CLI does not give up while the daemon still works.
     */
    void operationWait(CommandLine cli) {
      if (cli.getParseResult().matchedOption("--timeout") == null) {
        timeoutSeconds = Math.max(timeoutSeconds, OPERATION_WAIT_SECONDS);
      }
    }

    /** The client; a usage error names the option that is wrong. */
    ApiClient open(CommandLine cli) {
      if (timeoutSeconds < 1) {
        throw new CommandLine.ParameterException(cli, "--timeout must be >= 1");
      }
      Target target = target(cli);
      String authorization = null;
      if (tokenFile != null) {
        authorization = "Bearer " + token(cli);
      }
      HttpClientOptions http = new HttpClientOptions();
      if (target.tls()) {
        http.setSsl(true).setVerifyHost(true);
        if (apiCa != null) {
          if (!Files.isReadable(apiCa)) {
            throw new CommandLine.ParameterException(cli, "--api-ca " + apiCa + ": cannot read it; give the PEM"
                + " certificate of the CA that signed the API's certificate");
          }
          http.setTrustOptions(new PemTrustOptions().addCertPath(apiCa.toString()));
        }
      }
      return new ApiClient(api, target, http, authorization, Duration.ofSeconds(timeoutSeconds));
    }

    private Target target(CommandLine cli) {
      String socket = UnixHttp.unixPath(api);
      if (socket != null) {
        return new Target(SocketAddress.domainSocketAddress(socket), "localhost", 80, false);
      }
      boolean tls = api.startsWith("https://");
      if (tls || api.startsWith("http://")) {
        String scheme = tls ? "https://" : "http://";
        String hostPort = api.substring(scheme.length()).replaceAll("/+$", "");
        int colon = hostPort.lastIndexOf(':');
        try {
          String host = hostPort.substring(0, colon).replaceAll("^\\[(.*)]$", "$1");
          int port = Integer.parseInt(hostPort.substring(colon + 1));
          return new Target(SocketAddress.inetSocketAddress(port, host), host, port, tls);
        } catch (RuntimeException e) {
          throw new CommandLine.ParameterException(cli, "--api " + api + ": expected " + scheme + "HOST:PORT");
        }
      }
      throw new CommandLine.ParameterException(cli, "--api " + api + ": expected unix:PATH or /PATH (the sidecar's"
          + " api.socket), or http://HOST:PORT or https://HOST:PORT (its api.tcp, https:// when api.tls is set)");
    }

    private String token(CommandLine cli) {
      try {
        return Files.readAllLines(tokenFile).stream().map(String::strip)
            .filter(l -> !l.isEmpty() && !l.startsWith("#")).findFirst()
            .orElseThrow(() -> new CommandLine.ParameterException(cli, "--token-file " + tokenFile
                + " holds no token; put the token on its first line"));
      } catch (IOException e) {
        throw new CommandLine.ParameterException(cli, "cannot read --token-file " + tokenFile + ": " + e);
      }
    }
  }

  /**
   * Where the API is: the address to connect to, the host and port the request names (TLS
   * verifies the certificate against that host), and whether it speaks TLS.
   */
  private record Target(SocketAddress server, String host, int port, boolean tls) {}

  /** An answer that is not a problem: its status and JSON body (null when empty). */
  record Response(int status, JsonNode body) {}

  /**
   * Opens the client, runs {@code body} with it and closes it. A failure (a problem answer, an
   * unreachable API, no answer in time) reaches the command line's handler ({@link CliFailures})
   * as a {@link SidecarException} whose message is the one line to print.
   */
  static int run(CommandLine cli, Options options, ToIntFunction<ApiClient> body) {
    try (ApiClient client = options.open(cli)) {
      return body.applyAsInt(client);
    } finally {
      cli.getOut().flush();
    }
  }

  private final String api;
  private final Target target;
  private final String authorization;
  private final Duration timeout;
  private final Vertx vertx = Vertx.vertx();
  private final HttpClientAgent http;
  private final Context context;

  private ApiClient(String api, Target target, HttpClientOptions options, String authorization, Duration timeout) {
    this.api = api;
    this.target = target;
    this.authorization = authorization;
    this.timeout = timeout;
    this.http = vertx.createHttpClient(options);
    this.context = vertx.getOrCreateContext();
  }

  Duration timeout() {
    return timeout;
  }

  /**
   * Sends one request and reads the whole answer.
   *
   * @param body the JSON body, or null
   * @return the answer when it is not a problem (any status)
   * @throws SidecarException for a problem answer, an unreachable API, or no answer within the timeout
   */
  Response call(HttpMethod method, String uri, JsonNode body) {
    return await(onContext(() -> http.request(options(method, uri).setIdleTimeout(timeout.toMillis()))
        .compose(r -> body == null ? r.send() : r.putHeader("content-type", "application/json")
            .send(Buffer.buffer(body.toString())))
        .compose(r -> r.body().map(b -> ApiAnswers.answer(api, r.statusCode(), r.getHeader("content-type"),
            b.getBytes())))), timeout);
  }

  /**
   * Opens a streaming GET; {@code attach} runs on the event loop as the 200 answer arrives,
   * before any of its body is read, and returns what the caller reads the stream with.
   *
   * @param idle the longest silence on the stream before it is closed as dead
   * @throws SidecarException for a problem answer, an unreachable API, or no answer within the timeout
   */
  <T> T stream(String uri, Duration idle, Function<HttpClientResponse, T> attach) {
    return await(onContext(() -> http.request(options(HttpMethod.GET, uri).setIdleTimeout(idle.toMillis()))
        .compose(r -> r.send())
        .compose(r -> r.statusCode() == 200 ? Future.succeededFuture(attach.apply(r))
            : r.body().map(b -> {
              throw ApiAnswers.problem(r.statusCode(), b.getBytes());
            }))), timeout);
  }

  /**
   * Builds a request chain on the client's context: chained from the CLI thread onto an already
   * completed future, a callback would run on that thread, and a response body could arrive
   * before its handler is set.
   */
  private <T> Future<T> onContext(Supplier<Future<T>> chain) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> chain.get().onComplete(promise));
    return promise.future();
  }

  private RequestOptions options(HttpMethod method, String uri) {
    RequestOptions o = new RequestOptions().setServer(target.server()).setHost(target.host()).setPort(target.port())
        .setMethod(method).setURI(uri).setConnectTimeout(timeout.toMillis());
    if (authorization != null) {
      o.putHeader("authorization", authorization);
    }
    return o;
  }

  /** A failure the CLI met itself, with {@code line} as the one line it prints. */
  static SidecarException failure(Kind kind, String line) {
    return SidecarException.of(kind, "cli", line).build();
  }

  private <T> T await(Future<T> future, Duration wait) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(wait.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SidecarException f) {
        throw f;
      }
      if (e.getCause() instanceof TimeoutException) {
        // The request's own idle timeout: the API was reached and has not answered yet.
        throw ApiAnswers.timedOut(api, wait);
      }
      throw ApiAnswers.unreachable("cannot reach the sidecar API at " + api + ": " + e.getCause().getMessage() + "; "
          + TlsFailure.hint(e.getCause(), target.host()).orElse("check that qmp-sidecar run is running and --api"
          + " names its api.socket (or api.tcp)"));
    } catch (TimeoutException e) {
      throw ApiAnswers.timedOut(api, wait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiAnswers.unreachable("interrupted while waiting for the sidecar API");
    }
  }

  /** Closes the connections, waiting at most the timeout. */
  @Override
  public void close() {
    vertx.close().toCompletionStage().toCompletableFuture().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(e -> null).join();
  }
}
