package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.Migrations;
import io.qmpsidecar.sidecar.ops.Operations;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The northbound HTTP API. It listens on a Unix socket (mode 0660: file permissions are the
 * access control, and its callers are {@code api:local}) and, when configured, on TCP where
 * every request needs a bearer token. Request bodies are limited to {@link #MAX_BODY_BYTES}.
 */
public final class ApiServer {
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  public static final long MAX_BODY_BYTES = 1024 * 1024;
  /** Seconds a connection may stay silent. */
  public static final int IDLE_TIMEOUT_SECONDS = 60;
  private static final String CALLER = "caller";
  /** Every response body goes through this mapper: records' instants and durations as ISO-8601. */
  static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);

  private final Vertx vertx;
  private final SidecarConfig.Api config;
  private final List<Consumer<Router>> routes = new ArrayList<>();
  private final SidecarMetrics metrics;
  private final HealthRoutes health;
  private volatile HttpServer metricsServer;
  private final List<HttpServer> servers = new ArrayList<>();
  private final AuthThrottle throttle = new AuthThrottle();

  /**
   * What the API serves requests from: the operations layer does and decides the work; the
   * policy engine is read by {@code /v1/policy/explain} only, which decides nothing.
   */
  public record Services(Operations operations, Migrations migrations, EventStream events, PolicyEngine policy,
      SidecarMetrics metrics, Readiness readiness) {}

  public ApiServer(Vertx vertx, SidecarConfig.Api config, Services services) {
    this.vertx = vertx;
    this.config = config;
    this.metrics = services.metrics();
    routes.add(new VmRoutes(services.operations())::mount);
    routes.add(new PolicyRoutes(services.policy())::mount);
    this.health = new HealthRoutes(metrics, services.readiness());
    routes.add(health::mount);
    routes.add(new EventRoutes(vertx, services.events())::mount);
    routes.add(new DeviceRoutes(services.operations())::mount);
    routes.add(new MigrationRoutes(services.migrations())::mount);
  }

  /**
   * Listens on the Unix socket and, if configured, TCP and the metrics listener; fails naming what
   * could not be bound.
   */
  public Future<Void> start() {
    return startApi().compose(v -> config.metricsEnabled() ? startMetrics() : Future.succeededFuture());
  }

  /** {@code GET /metrics} on {@code api.metrics}: no token, nothing else served, nothing changed. */
  private Future<Void> startMetrics() {
    Router router = Router.router(vertx);
    health.mountMetrics(router);
    return vertx.createHttpServer(serverOptions()).requestHandler(router)
        .listen(config.metricsPort(), config.metricsHost())
        .onSuccess(s -> {
          servers.add(s);
          metricsServer = s;
          LOG.info("metrics listening on http://{}:{}/metrics", config.metricsHost(), s.actualPort());
        })
        .recover(e -> Future.failedFuture(new IllegalStateException("cannot serve metrics on " + config.metricsHost()
            + ":" + config.metricsPort() + ": " + e.getMessage() + "; choose another api.metrics", e)))
        .mapEmpty();
  }

  private Future<Void> startApi() {
    Path socket = config.socket();
    Future<Void> unix = prepareSocket(socket)
        .compose(v -> vertx.createHttpServer(serverOptions()).requestHandler(router(ApiCallers.none(), false))
            .listen(SocketAddress.domainSocketAddress(socket.toString())))
        .compose(s -> {
          servers.add(s);
          return vertx.executeBlocking(() -> {
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
            return null;
          });
        })
        .recover(e -> Future.failedFuture(new IllegalStateException("cannot serve the API on "
            + socket + ": " + e.getMessage() + "; check the directory exists and is writable, or set api.socket", e)))
        .mapEmpty();
    if (!config.tcpEnabled()) {
      return unix.onSuccess(v -> LOG.info("API listening on unix:{}", socket));
    }
    return unix.compose(v -> vertx.createHttpServer(tcpOptions()).requestHandler(router(ApiCallers.of(config.tokens()), true))
            .listen(config.tcpPort(), config.tcpHost())
            .recover(e -> Future.failedFuture(new IllegalStateException("cannot serve the API on " + config.tcpHost()
                + ":" + config.tcpPort() + ": " + e.getMessage() + "; choose another api.tcp", e))))
        .onSuccess(s -> {
          servers.add(s);
          LOG.info("API listening on unix:{} and {}:{}:{} (bearer tokens)", socket, config.tlsEnabled() ? "https" : "http",
              config.tcpHost(), s.actualPort());
        })
        .mapEmpty();
  }

  private HttpServerOptions tcpOptions() {
    HttpServerOptions options = serverOptions();
    if (config.tlsEnabled()) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(config.tlsCert().toString())
          .setKeyPath(config.tlsKey().toString()));
    }
    return options;
  }

  /**
   * A connection idle for {@link #IDLE_TIMEOUT_SECONDS} is closed, so a client that sends half a
   * request cannot hold it open; event streams write a heartbeat every 15 s and stay open.
   */
  private static HttpServerOptions serverOptions() {
    return new HttpServerOptions().setIdleTimeout(IDLE_TIMEOUT_SECONDS).setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS);
  }

  /** The TCP port actually bound (useful with port 0), or -1. */
  public int tcpPort() {
    return config.tcpEnabled() && servers.size() > 1 ? servers.get(1).actualPort() : -1;
  }

  /** The metrics listener's port actually bound (useful with port 0), or -1. */
  public int metricsPort() {
    HttpServer server = metricsServer;
    return server == null ? -1 : server.actualPort();
  }

  public Future<Void> close() {
    return Future.join(servers.stream().map(HttpServer::close).toList()).mapEmpty();
  }

  /** Every route as {@code METHOD PATH}, the path as OpenAPI writes it ({@code GET /v1/vms/{vm}}). */
  List<String> documentedOperations() {
    return router(ApiCallers.none(), false).getRoutes().stream().filter(r -> r.getPath() != null && r.methods() != null)
        .flatMap(r -> r.methods().stream().map(m -> m.name() + " " + r.getPath().replaceAll(":([A-Za-z]+)", "{$1}")))
        .distinct().toList();
  }

  /**
   * A route's first handler: refuses (400) a query parameter the route does not take, as the API
   * document says of every request it does not describe.
   */
  static Handler<RoutingContext> query(String... names) {
    Set<String> allowed = Set.of(names);
    return ctx -> {
      for (String name : ctx.queryParams().names()) {
        if (!allowed.contains(name)) {
          ctx.fail(Failures.badRequest("unknown parameter '" + name + "' for " + ctx.request().method() + " "
              + ctx.request().path() + (allowed.isEmpty() ? ", which takes none"
                  : "; it takes " + new TreeSet<>(allowed))));
          return;
        }
      }
      ctx.next();
    };
  }

  /** The caller the request was authenticated as. */
  static Caller caller(RoutingContext ctx) {
    return ctx.get(CALLER);
  }

  /** Writes {@code body}; serialized before anything is sent, so a failure becomes a 500 problem. */
  static void json(RoutingContext ctx, int status, JsonNode body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      ctx.fail(e);
      return;
    }
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(Buffer.buffer(bytes));
  }

  private Future<Void> prepareSocket(Path socket) {
    return vertx.executeBlocking(() -> {
      Files.createDirectories(socket.getParent());
      if (Files.exists(socket)) {
        if (!Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
          throw new IOException(socket + " exists and is not a socket; remove it or choose another api.socket");
        }
        if (listening(socket)) {
          throw new IOException("another process listens on " + socket + " (a qmp-sidecar already running?);"
              + " stop it, or give this daemon its own api.socket and stateDir");
        }
        // A socket file left by a previous run that was killed: nobody listens on it any more.
        Files.delete(socket);
      }
      return null;
    });
  }

  /** Whether something accepts connections on the Unix socket {@code socket}. Blocking. */
  private static boolean listening(Path socket) {
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(socket));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private Router router(ApiCallers tokens, boolean requireToken) {
    Router router = Router.router(vertx);
    RouteNames routeNames = new RouteNames(router);
    router.route().handler(ctx -> {
      // First: refusals and failures are counted too, under the route they were asked of.
      ctx.addEndHandler(v -> metrics.apiRequest(routeNames.of(ctx.request().method(), ctx.request().path()),
          ctx.response().getStatusCode()));
      if (requireToken && !ctx.request().path().equals("/healthz")) {
        String peer = ctx.request().remoteAddress() == null ? "unknown" : ctx.request().remoteAddress().host();
        long now = System.currentTimeMillis();
        long wait = throttle.waitMillis(peer, now);
        if (wait > 0) {
          ctx.response().putHeader("retry-after", Long.toString((wait + 999) / 1000));
          Problem.of(429, "auth-throttled", "Too many failed authentications", "too many wrong or missing bearer"
              + " tokens from " + peer + "; retry in " + (wait + 999) / 1000 + " s with a token from api.tokensFile")
              .send(ctx);
          return;
        }
        Caller caller = tokens.byBearer(ctx.request().getHeader("authorization"));
        if (caller == null) {
          throttle.failed(peer, now);
          ctx.response().putHeader("www-authenticate", "Bearer");
          Problem.of(401, "unauthorized", "Missing or wrong bearer token",
              "this TCP listener needs 'Authorization: Bearer TOKEN' with a token from api.tokensFile").send(ctx);
          return;
        }
        ctx.put(CALLER, caller);
      } else if (!requireToken) {
        ctx.put(CALLER, ApiCallers.LOCAL);
      }
      ctx.next();
    });
    router.route().handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES));
    routes.forEach(r -> r.accept(router));
    router.errorHandler(413, ctx -> Problem.of(413, "too-large", "Request body too large",
        "the body is over " + MAX_BODY_BYTES + " bytes").send(ctx));
    router.errorHandler(405, ctx -> {
      Set<String> allowed = allowedMethods(router, ctx.request().path());
      ctx.response().putHeader("allow", String.join(", ", allowed));
      Problem.of(405, "method-not-allowed", "Method not allowed", ctx.request().method() + " is not supported on "
          + ctx.request().path() + "; it takes " + String.join(", ", allowed) + " (see /v1/openapi.json)").send(ctx);
    });
    router.errorHandler(404, ctx -> Problem.of(404, "not-found", "No such resource",
        ctx.request().method() + " " + ctx.request().path() + " is not part of the API; see /v1/openapi.json").send(ctx));
    router.errorHandler(400, ctx -> Problem.of(400, "bad-request", "Bad request",
        "the request could not be read (malformed URI, header or body)").send(ctx));
    router.errorHandler(500, ctx -> {
      Throwable failure = ctx.failure();
      Problem problem = Problem.from(failure);
      if (problem.status() == 500) {
        LOG.error("API {} {} failed", ctx.request().method(), ctx.request().path(), failure);
      }
      problem.send(ctx);
    });
    return router;
  }

  /** The methods some route of {@code router} takes on {@code path}. */
  private static Set<String> allowedMethods(Router router, String path) {
    Set<String> methods = new TreeSet<>();
    for (Route r : router.getRoutes()) {
      if (r.getPath() != null && r.methods() != null && path.matches(r.getPath().replaceAll(":[A-Za-z]+", "[^/]+"))) {
        r.methods().stream().map(HttpMethod::name).forEach(methods::add);
      }
    }
    return methods;
  }
}
