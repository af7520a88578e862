package io.qmpsidecar.sidecar.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads the YAML configuration, applies overrides, validates everything and binds it. Override
 * precedence, lowest first: defaults, the file, environment variables
 * ({@code QMP_SIDECAR_API_SOCKET} for {@code api.socket}), then {@code --set api.socket=…}
 * flags. An invalid configuration never half-applies: the failure ({@code CONFIGURATION},
 * {@code config-invalid}) lists every problem, each naming its key and the fix.
 */
public final class ConfigLoader {
  public static final String ENV_PREFIX = "QMP_SIDECAR_";
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** Every scalar key, with its default (null: no default). Lists are {@code vms}. */
  static final Map<String, String> KEYS = keys();

  private static Map<String, String> keys() {
    java.util.LinkedHashMap<String, String> k = new java.util.LinkedHashMap<>();
    k.put("vmSocketDir", null);
    k.put("libvirt.uri", null);
    k.put("libvirt.metadata", null);
    k.put("stateDir", "/var/lib/qmp-sidecar");
    k.put("api.socket", "/run/qmp-sidecar/api.sock");
    k.put("api.tcp", null);
    k.put("api.tokensFile", null);
    k.put("api.tls.cert", null);
    k.put("api.tls.key", null);
    k.put("policy.preset", "default");
    k.put("policy.file", null);
    k.put("proxy.dir", "/run/qmp-sidecar/proxy");
    k.put("host.sysfsRoot", "/sys");
    k.put("host.devRoot", "/dev");
    k.put("host.vfioDrivers", "");
    k.put("relay.url", null);
    k.put("relay.hostId", null);
    k.put("relay.cert", null);
    k.put("relay.key", null);
    k.put("relay.ca", null);
    k.put("relay.allowPlainRemote", "false");
    k.put("timeouts.command", "10s");
    k.put("timeouts.attach", "60s");
    k.put("timeouts.detach", "30s");
    k.put("timeouts.shutdown", "10s");
    k.put("log.format", "auto");
    return java.util.Collections.unmodifiableMap(k);
  }

  private ConfigLoader() {}

  /**
   * @param file the YAML file, or null for defaults only
   * @param env the environment (System.getenv() in production)
   * @param sets {@code key=value} overrides from the command line
   * @param qmp VMs given on the command line as {@code NAME=ADDRESS} or a bare address
   */
  public static SidecarConfig load(Path file, Map<String, String> env, List<String> sets, List<String> qmp) {
    String source = file == null ? "configuration" : file.toString();
    List<String> problems = new ArrayList<>();
    ObjectNode tree = read(file, problems);
    if (!problems.isEmpty()) {
      throw invalid(source, problems);
    }
    checkKnownKeys(tree, "", problems);
    KEYS.keySet().forEach(key -> {
      String value = env.get(ENV_PREFIX + key.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase(Locale.ROOT));
      if (value != null) {
        put(tree, key, value);
      }
    });
    for (String set : sets) {
      int eq = set.indexOf('=');
      if (eq <= 0) {
        problems.add("--set " + set + ": expected KEY=VALUE, e.g. --set api.socket=/run/api.sock");
      } else if (!KEYS.containsKey(set.substring(0, eq))) {
        problems.add("--set " + set + ": unknown key '" + set.substring(0, eq) + "'; keys: " + KEYS.keySet());
      } else {
        put(tree, set.substring(0, eq), set.substring(eq + 1));
      }
    }
    for (String q : qmp) {
      ArrayNode vms = tree.has("vms") && tree.get("vms").isArray() ? (ArrayNode) tree.get("vms") : tree.putArray("vms");
      int eq = q.indexOf('=');
      String address = eq > 0 ? q.substring(eq + 1) : q;
      String name = eq > 0 ? q.substring(0, eq) : defaultName(address);
      vms.addObject().put("name", name).put("qmp", address);
    }
    SidecarConfig config = bind(tree, problems);
    if (!problems.isEmpty()) {
      throw invalid(source, problems);
    }
    return config;
  }

  /** The configuration is invalid: every problem, in the message and as the detail {@code problems}. */
  private static SidecarException invalid(String source, List<String> problems) {
    return SidecarException.of(Kind.CONFIGURATION, "config-invalid", source + ": " + problems.size() + " problem"
        + (problems.size() == 1 ? "" : "s") + ":\n  " + String.join("\n  ", problems))
        .detail("problems", List.copyOf(problems)).build();
  }

  private static String defaultName(String address) {
    String base = address.substring(address.lastIndexOf('/') + 1);
    int dot = base.lastIndexOf('.');
    String name = dot > 0 ? base.substring(0, dot) : base;
    return SidecarConfig.isValidVmName(name) ? name : "vm";
  }

  private static ObjectNode read(Path file, List<String> problems) {
    if (file == null) {
      return JsonNodeFactory.instance.objectNode();
    }
    try {
      JsonNode node = YAML.readTree(Files.readAllBytes(file));
      if (node == null || node.isMissingNode() || node.isNull()) {
        return JsonNodeFactory.instance.objectNode();
      }
      if (!node.isObject()) {
        problems.add("the file must be a YAML mapping of keys (see docs/configuration.md)");
        return JsonNodeFactory.instance.objectNode();
      }
      return (ObjectNode) node;
    } catch (java.nio.file.NoSuchFileException e) {
      problems.add("no such file; pass --config with an existing file, or omit it for defaults");
    } catch (IOException e) {
      problems.add("cannot read it as YAML: " + e.getMessage().lines().findFirst().orElse(""));
    }
    return JsonNodeFactory.instance.objectNode();
  }

  private static void checkKnownKeys(JsonNode node, String prefix, List<String> problems) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = prefix + e.getKey();
      if (key.equals("vms") || key.equals("version")) {
        continue;
      }
      if (e.getValue().isObject()) {
        checkKnownKeys(e.getValue(), key + ".", problems);
      } else if (!KEYS.containsKey(key)) {
        problems.add(key + ": unknown key; known keys: vms, " + String.join(", ", KEYS.keySet()));
      }
    }
  }

  private static void put(ObjectNode tree, String key, String value) {
    String[] parts = key.split("\\.");
    ObjectNode node = tree;
    for (int i = 0; i < parts.length - 1; i++) {
      JsonNode child = node.get(parts[i]);
      node = child instanceof ObjectNode o ? o : node.putObject(parts[i]);
    }
    node.put(parts[parts.length - 1], value);
  }

  private static String text(JsonNode tree, String key) {
    JsonNode node = tree;
    for (String part : key.split("\\.")) {
      node = node.path(part);
    }
    return node.isValueNode() && !node.isNull() ? node.asText() : KEYS.get(key);
  }

  private static SidecarConfig bind(ObjectNode tree, List<String> problems) {
    JsonNode version = tree.get("version");
    if (version != null && version.asInt() != 1) {
      problems.add("version: " + version + " is not supported; this qmp-sidecar reads version 1");
    }
    List<SidecarConfig.Vm> vms = vms(tree.path("vms"), problems);
    String tcp = text(tree, "api.tcp");
    String tcpHost = null;
    int tcpPort = 0;
    if (tcp != null) {
      int colon = tcp.lastIndexOf(':');
      try {
        tcpHost = tcp.substring(0, colon);
        tcpPort = Integer.parseInt(tcp.substring(colon + 1));
      } catch (RuntimeException e) {
        problems.add("api.tcp: '" + tcp + "' must be HOST:PORT, e.g. 127.0.0.1:8080");
      }
    }
    Path tokens = path(text(tree, "api.tokensFile"));
    if (tcp != null && tokens == null) {
      problems.add("api.tcp is set but api.tokensFile is not: a TCP API requires bearer tokens");
    }
    Path tlsCert = path(text(tree, "api.tls.cert"));
    Path tlsKey = path(text(tree, "api.tls.key"));
    if ((tlsCert == null) != (tlsKey == null)) {
      problems.add("api.tls: set both api.tls.cert and api.tls.key (PEM), or neither");
    }
    String format = text(tree, "log.format");
    if (!Set.of("auto", "human", "json").contains(format)) {
      problems.add("log.format: '" + format + "' must be auto, human or json");
    }
    String relayUrl = text(tree, "relay.url");
    if (relayUrl != null && text(tree, "relay.hostId") == null) {
      problems.add("relay.hostId: required when relay.url is set (the DPU knows this host by it)");
    }
    if (relayUrl != null && !relayUrl.matches("wss?://[^/:]+:\\d+(/.*)?")) {
      problems.add("relay.url: '" + relayUrl + "' must be wss://HOST:PORT (or ws://127.0.0.1:PORT for development)");
    }
    if (relayUrl != null && relayUrl.startsWith("wss:")) {
      for (String key : List.of("relay.cert", "relay.key", "relay.ca")) {
        if (text(tree, key) == null) {
          problems.add(key + ": required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)");
        }
      }
    }
    SidecarConfig.Timeouts timeouts = new SidecarConfig.Timeouts(duration(tree, "timeouts.command", problems),
        duration(tree, "timeouts.attach", problems), duration(tree, "timeouts.detach", problems),
        duration(tree, "timeouts.shutdown", problems));
    String discoverUri = text(tree, "libvirt.uri");
    String metadata = text(tree, "libvirt.metadata");
    if (metadata != null && discoverUri == null) {
      problems.add("libvirt.metadata: set libvirt.uri too (metadata narrows the domains discovered on that URI)");
    }
    return new SidecarConfig(vms, path(text(tree, "vmSocketDir")),
        new SidecarConfig.LibvirtDiscovery(discoverUri, metadata), path(text(tree, "stateDir")),
        new SidecarConfig.Api(path(text(tree, "api.socket")), tcpHost, tcpPort, tokens, tlsCert, tlsKey),
        new SidecarConfig.Policy(text(tree, "policy.preset"), path(text(tree, "policy.file"))),
        path(text(tree, "proxy.dir")),
        new SidecarConfig.Host(path(text(tree, "host.sysfsRoot")), path(text(tree, "host.devRoot")),
            vfioDrivers(tree, problems)),
        new SidecarConfig.Relay(relayUrl, text(tree, "relay.hostId"), path(text(tree, "relay.cert")),
            path(text(tree, "relay.key")), path(text(tree, "relay.ca")),
            Boolean.parseBoolean(text(tree, "relay.allowPlainRemote"))),
        timeouts, format);
  }

  private static List<SidecarConfig.Vm> vms(JsonNode list, List<String> problems) {
    List<SidecarConfig.Vm> vms = new ArrayList<>();
    if (list.isMissingNode() || list.isNull()) {
      return vms;
    }
    if (!list.isArray()) {
      problems.add("vms: must be a list of {name, qmp} or {name, libvirt: {uri, domain}}");
      return vms;
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      JsonNode vm = list.get(i);
      String name = vm.path("name").asText("");
      String where = "vms[" + i + "]";
      if (!SidecarConfig.isValidVmName(name)) {
        problems.add(where + ".name: '" + name + "' must be 1-64 letters, digits, '.', '_' or '-'");
        continue;
      }
      if (!names.add(name)) {
        problems.add(where + ".name: '" + name + "' is used twice; VM names must be unique");
      }
      if (vm.has("libvirt")) {
        libvirtVm(vm, name, where, problems).ifPresent(vms::add);
        continue;
      }
      try {
        vms.add(new SidecarConfig.Vm(name, QmpAddress.parse(vm.path("qmp").asText(""))));
      } catch (IllegalArgumentException e) {
        problems.add(where + ".qmp: " + e.getMessage());
      }
    }
    return vms;
  }

  /** {@code host.vfioDrivers}: a YAML list or a comma-separated value of VFIO variant driver names. */
  private static List<String> vfioDrivers(JsonNode tree, List<String> problems) {
    JsonNode node = tree.path("host").path("vfioDrivers");
    List<String> names = new ArrayList<>();
    if (node.isArray()) {
      node.forEach(n -> names.add(n.asText()));
    } else {
      for (String name : text(tree, "host.vfioDrivers").split(",")) {
        if (!name.isBlank()) {
          names.add(name.strip());
        }
      }
    }
    for (String name : names) {
      if (!name.matches("[a-z0-9_-]{1,64}") || !name.contains("vfio")) {
        problems.add("host.vfioDrivers: '" + name + "' is not a VFIO driver's name (e.g. mlx5_vfio_pci); list only"
            + " VFIO variant drivers: a function bound to anything else is the host's again");
      }
    }
    return names;
  }

  private static java.util.Optional<SidecarConfig.Vm> libvirtVm(JsonNode vm, String name, String where,
      List<String> problems) {
    JsonNode l = vm.get("libvirt");
    if (vm.has("qmp")) {
      problems.add(where + ": set either qmp or libvirt, not both (a libvirt domain's monitor belongs to libvirt)");
      return java.util.Optional.empty();
    }
    if (!l.isObject()) {
      problems.add(where + ".libvirt: must be {uri, domain}, e.g. {uri: qemu:///system, domain: " + name + "}");
      return java.util.Optional.empty();
    }
    for (Iterator<String> it = l.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!Set.of("uri", "domain", "passthrough", "managed").contains(key)) {
        problems.add(where + ".libvirt." + key + ": unknown key; known keys: uri, domain, passthrough, managed");
      }
    }
    String uri = l.path("uri").asText("");
    if (!uri.matches("[a-z0-9+]+://.*")) {
      problems.add(where + ".libvirt.uri: '" + uri + "' must be a libvirt URI, e.g. qemu:///system");
      return java.util.Optional.empty();
    }
    String domain = l.path("domain").asText(name);
    if (domain.isBlank()) {
      problems.add(where + ".libvirt.domain: must name the libvirt domain (default: the VM's name)");
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(new SidecarConfig.Vm(name, null, new SidecarConfig.Libvirt(uri, domain,
        flag(l, "passthrough", where, problems), flag(l, "managed", where, problems))));
  }

  private static boolean flag(JsonNode node, String key, String where, List<String> problems) {
    JsonNode v = node.path(key);
    if (v.isMissingNode() || v.isNull()) {
      return false;
    }
    if (!v.isBoolean() && !Set.of("true", "false").contains(v.asText())) {
      problems.add(where + ".libvirt." + key + ": '" + v.asText() + "' must be true or false");
      return false;
    }
    return v.asBoolean() || "true".equals(v.asText());
  }

  private static Duration duration(JsonNode tree, String key, List<String> problems) {
    String text = text(tree, key);
    try {
      if (text.matches("\\d+(ms|s|m)")) {
        long n = Long.parseLong(text.replaceAll("\\D", ""));
        if (n == 0) {
          throw new DateTimeParseException("not positive", text, 0);
        }
        return text.endsWith("ms") ? Duration.ofMillis(n) : text.endsWith("m") ? Duration.ofMinutes(n) : Duration.ofSeconds(n);
      }
      Duration d = Duration.parse(text);
      if (d.isNegative() || d.isZero()) {
        throw new DateTimeParseException("not positive", text, 0);
      }
      return d;
    } catch (DateTimeParseException e) {
      problems.add(key + ": '" + text + "' is not a positive duration; write e.g. 500ms, 30s or 2m");
      return Duration.ofSeconds(1);
    }
  }

  private static Path path(String text) {
    return text == null || text.isEmpty() ? null : Path.of(text);
  }
}
