package io.qmpsidecar.sidecar.api;

import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The {@code route} label of a request: the template of the API route its path and method match
 * (e.g. {@code /v1/vms/:vm/qmp}), whichever handler answered it, so an error is counted under the
 * route it was an error of; {@value #UNMATCHED} when no route has its path. Thread-safe.
 */
final class RouteNames {
  static final String UNMATCHED = "unmatched";

  private record Template(String path, Pattern pattern, Set<HttpMethod> methods) {}

  private final Router router;
  /** Read from the router at the first request: routes are mounted before the server listens. */
  private volatile List<Template> templates;

  RouteNames(Router router) {
    this.router = router;
  }

  String of(HttpMethod method, String path) {
    if (path == null) {
      return UNMATCHED;
    }
    List<Template> known = templates;
    if (known == null) {
      known = templates = compile(router.getRoutes());
    }
    Template samePath = null;
    for (Template t : known) {
      if (t.pattern().matcher(path).matches()) {
        if (t.methods() == null || t.methods().contains(method)) {
          return t.path();
        }
        samePath = samePath == null ? t : samePath;
      }
    }
    return samePath == null ? UNMATCHED : samePath.path();
  }

  private static List<Template> compile(List<Route> routes) {
    return routes.stream().filter(r -> r.getPath() != null)
        .map(r -> new Template(r.getPath(), pattern(r.getPath()), r.methods())).toList();
  }

  /** {@code /v1/vms/:vm} matches {@code /v1/vms/} and one segment; the rest is literal. */
  private static Pattern pattern(String template) {
    return Pattern.compile(Stream.of(template.split("/", -1))
        .map(s -> s.startsWith(":") ? "[^/]+" : Pattern.quote(s)).collect(Collectors.joining("/")));
  }
}
