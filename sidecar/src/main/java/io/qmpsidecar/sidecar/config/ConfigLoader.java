package io.qmpsidecar.sidecar.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyLoadException;
import io.qmpsidecar.policy.impl.LocatedTree;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.RelayTls;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the YAML configuration, applies overrides, validates everything and binds it. Override
 * precedence, lowest first: defaults, the file, environment variables
 * ({@code QMP_SIDECAR_API_SOCKET} for {@code api.socket}), then {@code --set api.socket=…}
 * flags. An invalid configuration never half-applies: the failure ({@code CONFIGURATION},
 * {@code config-invalid}) lists every problem, each naming its key and the fix, and placed at
 * {@code FILE:LINE:COLUMN} when the file writes the key. It is the one validator of {@code run},
 * SIGHUP and {@code config check}: besides each key's form it reads what the daemon reads at start
 * (the policy, the tokens file, the PEM files, the directories it creates), so that a configuration
 * it accepts does not fail later on any of them.
 */
public final class ConfigLoader {
  public static final String ENV_PREFIX = "QMP_SIDECAR_";
  private static final Pattern CALLER_NAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");
  private static final Pattern CALLER_RULE =
      Pattern.compile("(uid|gid):\\d{1,10}|(user|group):[^\\s:]{1,64}");

  /** The start of a problem that names a key, e.g. {@code vms[0].name: }: where it is written is looked up. */
  private static final Pattern PROBLEM_KEY = Pattern.compile("([A-Za-z][A-Za-z0-9]*(\\[\\d+]|\\.[A-Za-z][A-Za-z0-9]*)*): .*",
      Pattern.DOTALL);
  /** The keys whose value may be a YAML list (or one comma-separated value). */
  private static final Set<String> LIST_KEYS = Set.of("host.vfioDrivers", "migration.destinations",
      "hotplug.allowedPfs", "hotplug.vendorDevices", "hotplug.bdfPatterns", "hotplug.mdevTypes",
      "liveUpdate.launcher", "liveUpdate.binaries");

  /** Events kept for resuming a stream ({@code events.replay}) unless configured. */
  public static final int DEFAULT_REPLAY = 4096;
  /** The most {@code events.replay} may be. */
  public static final int MAX_REPLAY = 100_000;
  /** A PEM file larger than this is not a certificate or a key (a chain is a few kilobytes). */
  private static final long MAX_PEM_BYTES = 1024 * 1024;
  /** Rule actions started per second, all rules and VMs together, unless configured. */
  public static final int DEFAULT_ACTIONS_PER_SECOND = 10;
  /** The most {@code automation.maxPerSecond} may be. */
  public static final int MAX_ACTIONS_PER_SECOND = 1000;

  /** Every scalar key, with its default (null: no default). Lists are {@code vms} and {@code hooks}. */
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
    k.put("api.metrics", null);
    k.put("policy.preset", "default");
    k.put("policy.file", null);
    k.put("proxy.dir", "/run/qmp-sidecar/proxy");
    k.put("proxy.groupAccess", "false");
    k.put("proxy.clientName", null);
    k.put("proxy.maxClients", "64");
    k.put("host.sysfsRoot", "/sys");
    k.put("host.devRoot", "/dev");
    k.put("host.vfioDrivers", "");
    k.put("host.prepHelper", null);
    k.put("host.iommufd", "auto");
    k.put("migration.destinations", "");
    k.put("hotplug.allowedPfs", "");
    k.put("hotplug.vendorDevices", "");
    k.put("hotplug.bdfPatterns", "");
    k.put("hotplug.mdevTypes", "");
    k.put("relay.url", null);
    k.put("relay.hostId", null);
    k.put("relay.cert", null);
    k.put("relay.key", null);
    k.put("relay.ca", null);
    k.put("relay.allowPlainRemote", "false");
    k.put("relay.maxMessageBytes", String.valueOf(RelayHostOptions.DEFAULT_MAX_MESSAGE_BYTES));
    k.put("relay.maxInFlightRequests", String.valueOf(RelayHostOptions.DEFAULT_MAX_IN_FLIGHT_REQUESTS));
    k.put("relay.heartbeatInterval", RelayHostOptions.DEFAULT_HEARTBEAT_INTERVAL.toSeconds() + "s");
    k.put("relay.heartbeatTimeout", RelayHostOptions.DEFAULT_HEARTBEAT_TIMEOUT.toSeconds() + "s");
    k.put("relay.helloTimeout", RelayHostOptions.DEFAULT_HELLO_TIMEOUT.toSeconds() + "s");
    k.put("relay.executorTimeout", RelayHostOptions.DEFAULT_EXECUTOR_TIMEOUT.toSeconds() + "s");
    k.put("relay.reconnectInitialDelay", RelayHostOptions.DEFAULT_RECONNECT_INITIAL_DELAY.toMillis() + "ms");
    k.put("relay.reconnectMaxDelay", RelayHostOptions.DEFAULT_RECONNECT_MAX_DELAY.toSeconds() + "s");
    k.put("relay.maxOutboxEntries", String.valueOf(RelayHostOptions.DEFAULT_MAX_OUTBOX_ENTRIES));
    k.put("relay.maxStoredOps", String.valueOf(RelayHostOptions.DEFAULT_MAX_STORED_OPS));
    k.put("relay.syncEveryCommit", String.valueOf(RelayHostOptions.DEFAULT_SYNC_EVERY_COMMIT));
    k.put("timeouts.command", "10s");
    k.put("timeouts.attach", "60s");
    k.put("timeouts.detach", "30s");
    k.put("timeouts.release", "30s");
    k.put("timeouts.shutdown", "10s");
    k.put("log.format", "auto");
    k.put("log.auditFile", null);
    k.put("events.replay", Integer.toString(DEFAULT_REPLAY));
    k.put("automation.maxPerSecond", Integer.toString(DEFAULT_ACTIONS_PER_SECOND));
    k.put("liveUpdate.launcher", "");
    k.put("liveUpdate.binaries", "");
    k.put("liveUpdate.timeout", "20s");
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
    LocatedTree located = read(file, problems);
    if (!problems.isEmpty()) {
      throw invalid(source, problems);
    }
    ObjectNode tree = located.root() == null ? JsonNodeFactory.instance.objectNode() : (ObjectNode) located.root();
    checkKnownKeys(tree, "", problems);
    // Keys given by the environment, --set or --qmp: a problem with them is not the file's.
    Set<String> overridden = new HashSet<>();
    KEYS.keySet().forEach(key -> {
      String value = env.get(ENV_PREFIX + key.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase(Locale.ROOT));
      if (value != null) {
        put(tree, key, value);
        overridden.add(key);
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
        overridden.add(set.substring(0, eq));
      }
    }
    for (String q : qmp) {
      ArrayNode vms = tree.has("vms") && tree.get("vms").isArray() ? (ArrayNode) tree.get("vms") : tree.putArray("vms");
      int eq = q.indexOf('=');
      String address = eq > 0 ? q.substring(eq + 1) : q;
      String name = eq > 0 ? q.substring(0, eq) : defaultName(address);
      overridden.add("vms[" + vms.size() + "]");
      vms.addObject().put("name", name).put("qmp", address);
    }
    SidecarConfig config = bind(tree, problems);
    if (!problems.isEmpty()) {
      throw invalid(source, problems.stream().map(p -> located(p, source, located, overridden))
          .sorted(Comparator.comparingInt(Placed::line).thenComparingInt(Placed::column)).map(Placed::text).toList());
    }
    return config;
  }

  /** A problem as reported, and where the file writes its key ({@link Integer#MAX_VALUE} when it does not). */
  private record Placed(String text, int line, int column) {
    static Placed nowhere(String problem) {
      return new Placed(problem, Integer.MAX_VALUE, Integer.MAX_VALUE);
    }
  }

  /**
   * {@code problem} prefixed with {@code FILE:LINE:COLUMN} of its key (or of the closest enclosing
   * key) when the file wrote it; as it is when the key came from elsewhere or is not written. The
   * report lists the file's problems in the file's order, then the others in the order found.
   */
  private static Placed located(String problem, String source, LocatedTree located, Set<String> overridden) {
    Matcher m = PROBLEM_KEY.matcher(problem);
    if (!m.matches()) {
      return Placed.nowhere(problem);
    }
    for (String key = m.group(1); !key.isEmpty(); key = key.substring(0, Math.max(0, Math.max(key.lastIndexOf('.'),
        key.lastIndexOf('['))))) {
      if (overridden.contains(key)) {
        return Placed.nowhere(problem);
      }
      JsonLocation at = located.at(key);
      if (at != null) {
        return new Placed(source + ":" + at.getLineNr() + ":" + at.getColumnNr() + ": " + problem, at.getLineNr(),
            at.getColumnNr());
      }
    }
    return Placed.nowhere(problem);
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

  /** Whether {@code host}, as written, is a loopback address (no name is resolved). */
  private static boolean loopback(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    return h.equals("localhost") || h.equals("::1") || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
  }

  /**
   * What is wrong with the tokens file: missing, or open to others (read or write) or writable by
   * its group. As ssh refuses a loose key, the daemon refuses tokens others could read or change;
   * its group may read them (mode 0640, the daemon's group).
   */
  private static Optional<String> looseTokensFile(Path file) {
    Set<PosixFilePermission> perms;
    try {
      perms = Files.getPosixFilePermissions(file);
    } catch (NoSuchFileException e) {
      return Optional.of("api.tokensFile: " + file + " does not exist; create it with one NAME:TOKEN line per"
          + " caller, mode 600");
    } catch (IOException | UnsupportedOperationException e) {
      return Optional.empty();
    }
    Set<PosixFilePermission> loose = EnumSet.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.OTHERS_WRITE);
    loose.retainAll(perms);
    if (loose.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of("api.tokensFile: " + file + " is open to others (mode " + PosixFilePermissions.toString(perms)
        + "): anyone who reads it can call the API; chmod 600 it (640 for the daemon's group)");
  }

  /**
   * The file as a tree that knows where each key is written; its syntax errors and duplicate keys
   * (a key twice in one mapping: YAML parsers keep one of them silently) as problems. No file and
   * an empty one are the defaults.
   */
  private static LocatedTree read(Path file, List<String> problems) {
    if (file == null) {
      return LocatedTree.parse("", false, "configuration");
    }
    LocatedTree tree;
    try {
      tree = LocatedTree.parse(Files.readString(file, StandardCharsets.UTF_8), false, file.toString());
    } catch (NoSuchFileException e) {
      problems.add("no such file; pass --config with an existing file, or omit it for defaults");
      return LocatedTree.parse("", false, file.toString());
    } catch (IOException e) {
      problems.add("cannot read it: " + e.getMessage());
      return LocatedTree.parse("", false, file.toString());
    }
    tree.errors().forEach(e -> problems.add(e.toString()));
    if (problems.isEmpty() && tree.root() != null && !tree.root().isObject()) {
      problems.add("the file must be a YAML mapping of keys (see docs/configuration.md)");
    }
    return tree;
  }

  private static void checkKnownKeys(JsonNode node, String prefix, List<String> problems) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = prefix + e.getKey();
      if (key.equals("vms") || key.equals("hooks") || key.equals("version") || key.equals("proxy.callers")
          || key.equals("proxy.consumers")) {
        continue;
      }
      if (e.getValue().isObject()) {
        checkKnownKeys(e.getValue(), key + ".", problems);
      } else if (!KEYS.containsKey(key)) {
        problems.add(key + ": unknown key; known keys: vms, " + String.join(", ", KEYS.keySet()));
      } else if (e.getValue().isContainerNode() && !LIST_KEYS.contains(key)) {
        problems.add(key + ": must be one value, not a list");
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

  /** A listener's address: host null and port 0 when the key is unset or not HOST:PORT. */
  private record HostPort(String host, int port) {}

  private static HostPort hostPort(ObjectNode tree, String key, String example, List<String> problems) {
    String value = text(tree, key);
    if (value == null) {
      return new HostPort(null, 0);
    }
    int colon = value.lastIndexOf(':');
    try {
      return new HostPort(value.substring(0, colon), Integer.parseInt(value.substring(colon + 1)));
    } catch (RuntimeException e) {
      problems.add(key + ": '" + value + "' must be HOST:PORT, e.g. " + example);
      return new HostPort(null, 0);
    }
  }

  private static SidecarConfig bind(ObjectNode tree, List<String> problems) {
    JsonNode version = tree.get("version");
    if (version != null && version.asInt() != 1) {
      problems.add("version: " + version + " is not supported; this qmp-sidecar reads version 1");
    }
    List<SidecarConfig.Vm> vms = vms(tree.path("vms"), problems);
    String tcp = text(tree, "api.tcp");
    HostPort tcpAddress = hostPort(tree, "api.tcp", "127.0.0.1:8080", problems);
    String tcpHost = tcpAddress.host();
    HostPort metrics = hostPort(tree, "api.metrics", "127.0.0.1:9464", problems);
    Path tokens = path(text(tree, "api.tokensFile"));
    if (tcp != null && tokens == null) {
      problems.add("api.tcp: set, but api.tokensFile is not: a TCP API requires bearer tokens; set api.tokensFile"
          + " to a file of NAME:TOKEN lines, mode 600");
    }
    ApiTokens tokensRead = ApiTokens.NONE;
    if (tokens != null) {
      Optional<String> loose = looseTokensFile(tokens);
      loose.ifPresent(problems::add);
      if (loose.isEmpty()) {
        try {
          tokensRead = new ApiTokens(TokensFile.read(tokens));
        } catch (IllegalArgumentException e) {
          problems.add("api.tokensFile: " + e.getMessage());
        }
      }
    }
    Path tlsCert = path(text(tree, "api.tls.cert"));
    Path tlsKey = path(text(tree, "api.tls.key"));
    if ((tlsCert == null) != (tlsKey == null)) {
      problems.add("api.tls: set both api.tls.cert and api.tls.key (PEM), or neither");
    }
    pemFile(tree, "api.tls.cert", "CERTIFICATE", problems);
    pemFile(tree, "api.tls.key", "PRIVATE KEY", problems);
    directory(tree, "stateDir", false, problems);
    directory(tree, "proxy.dir", false, problems);
    directory(tree, "api.socket", true, problems);
    Path policyFile = path(text(tree, "policy.file"));
    io.qmpsidecar.policy.Policy compiled = null;
    try {
      compiled = policyFile != null ? Policies.load(policyFile) : Policies.preset(text(tree, "policy.preset"));
    } catch (PolicyLoadException e) {
      // A file's errors name it, with line and column; a preset's error names the key.
      e.errors().forEach(error -> problems.add(policyFile != null ? "policy.file: " + error
          : "policy.preset: " + error.message()));
    }
    if (tcpHost != null && tlsCert == null && !loopback(tcpHost)) {
      problems.add("api.tcp: " + tcp + " is not a loopback address and api.tls is not set: bearer tokens would"
          + " cross the network in clear; set api.tls.cert and api.tls.key, or listen on 127.0.0.1");
    }
    String iommufd = text(tree, "host.iommufd");
    if (!"auto".equals(iommufd) && !"off".equals(iommufd)) {
      problems.add("host.iommufd: '" + iommufd + "' must be auto (IOMMUFD where the host, the monitor and QEMU"
          + " allow it) or off (always the group path)");
    }
    String format = text(tree, "log.format");
    if (!Set.of("auto", "human", "json").contains(format)) {
      problems.add("log.format: '" + format + "' must be auto, human or json");
    }
    Path auditFile = path(text(tree, "log.auditFile"));
    if (auditFile != null && !auditFile.isAbsolute()) {
      problems.add("log.auditFile: '" + auditFile + "' must be an absolute path, e.g. /var/log/qmp-sidecar/audit.json");
    } else if (auditFile != null && !Files.isDirectory(auditFile.toAbsolutePath().getParent())) {
      problems.add("log.auditFile: " + auditFile.getParent() + " is not a directory; create it (writable by the daemon)"
          + " or choose another file");
    }
    SidecarConfig.Relay relay = relay(tree, path(text(tree, "stateDir")), problems);
    SidecarConfig.Timeouts timeouts = new SidecarConfig.Timeouts(duration(tree, "timeouts.command", problems),
        duration(tree, "timeouts.attach", problems), duration(tree, "timeouts.detach", problems),
        duration(tree, "timeouts.release", problems), duration(tree, "timeouts.shutdown", problems));
    String discoverUri = text(tree, "libvirt.uri");
    String metadata = text(tree, "libvirt.metadata");
    if (metadata != null && discoverUri == null) {
      problems.add("libvirt.metadata: set libvirt.uri too (metadata narrows the domains discovered on that URI)");
    }
    List<String> vfioDrivers = vfioDrivers(tree, problems);
    return new SidecarConfig(vms, path(text(tree, "vmSocketDir")),
        new SidecarConfig.LibvirtDiscovery(discoverUri, metadata), path(text(tree, "stateDir")),
        new SidecarConfig.Api(path(text(tree, "api.socket")), tcpHost, tcpAddress.port(), tokens, tokensRead, tlsCert, tlsKey,
            metrics.host(), metrics.port()),
        new SidecarConfig.Policy(text(tree, "policy.preset"), path(text(tree, "policy.file")),
            valueSets(tree, vfioDrivers, problems), compiled),
        path(text(tree, "proxy.dir")),
        new SidecarConfig.Host(path(text(tree, "host.sysfsRoot")), path(text(tree, "host.devRoot")),
            vfioDrivers, path(text(tree, "host.prepHelper")), !"off".equals(text(tree, "host.iommufd"))),
        relay, timeouts, new SidecarConfig.Log(format, auditFile), proxy(tree, problems), new SidecarConfig.Events(number(tree, "events.replay", 1, MAX_REPLAY, problems)),
        new SidecarConfig.Automation(number(tree, "automation.maxPerSecond", 1, MAX_ACTIONS_PER_SECOND, problems),
            HooksBinding.bind(tree.path("hooks"), problems)),
        new SidecarConfig.LiveUpdate(list(tree, "liveUpdate.launcher"), liveUpdateBinaries(tree, problems),
            duration(tree, "liveUpdate.timeout", problems)));
  }

  private static int number(JsonNode tree, String key, int min, int max, List<String> problems) {
    String text = text(tree, key);
    try {
      int n = Integer.parseInt(text);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below with the range
    }
    problems.add(key + ": '" + text + "' must be a whole number from " + min + " to " + max);
    return Integer.parseInt(KEYS.get(key));
  }

  /** {@code relay.*}: the link's options, refused here exactly as the relay would refuse them at start. */
  private static SidecarConfig.Relay relay(JsonNode tree, Path stateDir, List<String> problems) {
    String url = text(tree, "relay.url");
    String hostId = text(tree, "relay.hostId");
    if (url == null) {
      // Off: its other keys are still checked, so that a mistake shows before the relay is turned on.
      bool(tree, "relay.allowPlainRemote", problems);
      tuned(RelayHostOptions.of("127.0.0.1", 1, "unset", stateDir.resolve("relay.db")), tree, problems);
      return new SidecarConfig.Relay(null, hostId, null);
    }
    if (hostId == null) {
      problems.add("relay.hostId: required when relay.url is set (the DPU knows this host by it)");
    }
    List<String> tlsKeys = List.of("relay.cert", "relay.key", "relay.ca");
    long tlsGiven = tlsKeys.stream().filter(k -> text(tree, k) != null).count();
    if (tlsGiven != 0 && tlsGiven != tlsKeys.size() || url.startsWith("wss:") && tlsGiven == 0) {
      tlsKeys.stream().filter(k -> text(tree, k) == null).forEach(k -> problems.add(k
          + ": required for wss:// (mutual TLS: this host's certificate, its key, the DPU's CA)"));
    }
    pemFile(tree, "relay.cert", "CERTIFICATE", problems);
    pemFile(tree, "relay.key", "PRIVATE KEY", problems);
    pemFile(tree, "relay.ca", "CERTIFICATE", problems);
    RelayTls tls = tlsGiven == tlsKeys.size() ? new RelayTls(path(text(tree, "relay.cert")),
        path(text(tree, "relay.key")), path(text(tree, "relay.ca"))) : null;
    RelayHostOptions options = null;
    try {
      options = RelayHostOptions.forUrl(new URI(url), hostId == null ? "unset" : hostId,
          stateDir.resolve("relay.db"), tls, bool(tree, "relay.allowPlainRemote", problems));
    } catch (URISyntaxException | IllegalArgumentException e) {
      // wss:// without TLS files is reported above, by the keys to set.
      if (tls != null || !url.startsWith("wss:")) {
        problems.add("relay.url: " + e.getMessage());
      }
    }
    return new SidecarConfig.Relay(url, hostId, options == null ? null : tuned(options, tree, problems));
  }

  /** {@code options} with the relay's limits and times the configuration sets; each refusal is a problem. */
  private static RelayHostOptions tuned(RelayHostOptions options, JsonNode tree, List<String> problems) {
    Integer maxMessageBytes = integer(tree, "relay.maxMessageBytes", problems);
    Integer maxInFlight = integer(tree, "relay.maxInFlightRequests", problems);
    Integer maxOutbox = integer(tree, "relay.maxOutboxEntries", problems);
    Integer maxOps = integer(tree, "relay.maxStoredOps", problems);
    Duration heartbeat = duration(tree, "relay.heartbeatInterval", problems);
    Duration silence = duration(tree, "relay.heartbeatTimeout", problems);
    Duration hello = duration(tree, "relay.helloTimeout", problems);
    Duration executor = duration(tree, "relay.executorTimeout", problems);
    Duration redialFirst = duration(tree, "relay.reconnectInitialDelay", problems);
    Duration redialMax = duration(tree, "relay.reconnectMaxDelay", problems);
    List<UnaryOperator<RelayHostOptions>> tuning = new ArrayList<>();
    tuning.add(o -> o.withSyncEveryCommit(bool(tree, "relay.syncEveryCommit", problems)));
    if (maxMessageBytes != null) {
      tuning.add(o -> o.withMaxMessageBytes(maxMessageBytes));
    }
    if (maxInFlight != null) {
      tuning.add(o -> o.withMaxInFlightRequests(maxInFlight));
    }
    if (maxOutbox != null) {
      tuning.add(o -> o.withMaxOutboxEntries(maxOutbox));
    }
    if (maxOps != null) {
      tuning.add(o -> o.withMaxStoredOps(maxOps));
    }
    tuning.add(o -> o.withHeartbeat(heartbeat, silence));
    tuning.add(o -> o.withHelloTimeout(hello));
    tuning.add(o -> o.withExecutorTimeout(executor));
    tuning.add(o -> o.withReconnectInitialDelay(redialFirst));
    tuning.add(o -> o.withReconnectMaxDelay(redialMax));
    RelayHostOptions tuned = options;
    for (UnaryOperator<RelayHostOptions> step : tuning) {
      try {
        tuned = step.apply(tuned);
      } catch (IllegalArgumentException e) {
        problems.add("relay: " + e.getMessage());
      }
    }
    return tuned;
  }

  /** {@code proxy.*} but {@code dir}; the names and rules follow docs/proxy.md, "Who is calling". */
  private static SidecarConfig.Proxy proxy(ObjectNode tree, List<String> problems) {
    String group = text(tree, "proxy.groupAccess");
    if (!group.equals("true") && !group.equals("false")) {
      problems.add("proxy.groupAccess: '" + group + "' must be true or false");
    }
    String clientName = text(tree, "proxy.clientName");
    if (clientName != null && !CALLER_NAME.matcher(clientName).matches()) {
      problems.add("proxy.clientName: '" + clientName + "' must be 1-64 of A-Z a-z 0-9 . _ @ - (clients become caller proxy:<name>)");
    }
    int maxClients = 64;
    try {
      maxClients = Integer.parseInt(text(tree, "proxy.maxClients"));
      if (maxClients < 1) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      problems.add("proxy.maxClients: '" + text(tree, "proxy.maxClients") + "' must be a whole number of at least 1");
    }
    Map<String, String> callers = new LinkedHashMap<>();
    JsonNode rules = tree.path("proxy").path("callers");
    if (!rules.isMissingNode() && !rules.isObject()) {
      problems.add("proxy.callers: must be a map of uid:N, user:NAME, gid:N or group:NAME to a caller name");
    }
    rules.fields().forEachRemaining(e -> {
      if (!CALLER_RULE.matcher(e.getKey()).matches()) {
        problems.add("proxy.callers." + e.getKey() + ": write uid:NUMBER, user:NAME, gid:NUMBER or group:NAME");
      } else if (!e.getValue().isTextual() || !CALLER_NAME.matcher(e.getValue().asText()).matches()) {
        problems.add("proxy.callers." + e.getKey() + ": '" + e.getValue().asText() + "' must be 1-64 of A-Z a-z 0-9 . _ @ -");
      } else {
        callers.put(e.getKey(), e.getValue().asText());
      }
    });
    Map<String, List<SidecarConfig.Proxy.Consumer>> consumers = new LinkedHashMap<>();
    JsonNode perVm = tree.path("proxy").path("consumers");
    if (!perVm.isMissingNode() && !perVm.isObject()) {
      problems.add("proxy.consumers: must map VM names to lists of {name, group}");
    }
    perVm.fields().forEachRemaining(e -> {
      if (!e.getValue().isArray()) {
        problems.add("proxy.consumers." + e.getKey() + ": must be a list of {name, group}");
        return;
      }
      List<SidecarConfig.Proxy.Consumer> list = new ArrayList<>();
      Set<String> names = new HashSet<>();
      for (int i = 0; i < e.getValue().size(); i++) {
        JsonNode c = e.getValue().get(i);
        String where = "proxy.consumers." + e.getKey() + "[" + i + "]";
        unknownEntryKeys(c, where, Set.of("name", "group"), "a consumer has name and group", problems);
        String name = c.path("name").asText("");
        JsonNode g = c.path("group");
        if (!CALLER_NAME.matcher(name).matches()) {
          problems.add(where + ".name: '" + name + "' must be 1-64 of A-Z a-z 0-9 . _ @ - (clients become caller proxy:<name>)");
        } else if (!names.add(name)) {
          problems.add(where + ".name: '" + name + "' is used twice for this VM");
        } else if (!g.isMissingNode() && (!g.isTextual() || g.asText().isBlank())) {
          problems.add(where + ".group: must name a group, or be left out for the sidecar's user only");
        } else {
          list.add(new SidecarConfig.Proxy.Consumer(name, g.isMissingNode() ? null : g.asText()));
        }
      }
      consumers.put(e.getKey(), list);
    });
    return new SidecarConfig.Proxy(Boolean.parseBoolean(group), clientName, maxClients, callers, consumers);
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
      unknownEntryKeys(vm, where, Set.of("name", "qmp", "libvirt"), "a VM has name and qmp, or name and libvirt",
          problems);
      if (!SidecarConfig.isValidVmName(name)) {
        problems.add(where + ".name: '" + name + "' must be 1-64 letters, digits, '.', '_' or '-', the first a"
            + " letter or digit");
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

  /** A problem for each key of the list entry {@code entry} (at {@code where}) that is not one of {@code known}. */
  private static void unknownEntryKeys(JsonNode entry, String where, Set<String> known, String which,
      List<String> problems) {
    entry.fieldNames().forEachRemaining(key -> {
      if (!known.contains(key)) {
        problems.add(where + "." + key + ": unknown key; " + which);
      }
    });
  }

  /** A list key: a YAML list, or one comma-separated value (from the environment or {@code --set}). */
  private static List<String> list(JsonNode tree, String key) {
    JsonNode node = tree;
    for (String part : key.split("\\.")) {
      node = node.path(part);
    }
    List<String> values = new ArrayList<>();
    if (node.isArray()) {
      node.forEach(n -> values.add(n.asText().strip()));
    } else {
      for (String value : text(tree, key).split(",")) {
        if (!value.isBlank()) {
          values.add(value.strip());
        }
      }
    }
    return values;
  }

  /**
   * The policy's value sets (docs/policies.md, "Value sets"), each from the key of its name, each
   * value in the form the rules compare: nothing the configuration lists is allowed silently.
   */
  private static Map<String, List<String>> valueSets(JsonNode tree, List<String> vfioDrivers, List<String> problems) {
    Map<String, String[]> forms = new LinkedHashMap<>();
    forms.put("migration.destinations", new String[] {"(tcp|unix|rdma):\\S{1,4000}",
        "a migration URI tcp:HOST:PORT, unix:PATH or rdma:HOST:PORT"});
    forms.put("hotplug.allowedPfs", new String[] {"[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]",
        "a PCI address DDDD:BB:DD.F"});
    forms.put("hotplug.vendorDevices", new String[] {"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", "vendor:device in hex, e.g. 15b3:101e"});
    forms.put("hotplug.bdfPatterns", new String[] {"[0-9a-fA-F:.*?\\[\\]-]{1,64}", "an address glob, e.g. 0000:03:*"});
    forms.put("hotplug.mdevTypes", new String[] {"[A-Za-z0-9_-]{1,64}", "an mdev type, e.g. nvidia-63"});
    Map<String, List<String>> sets = new LinkedHashMap<>();
    forms.forEach((key, form) -> {
      List<String> values = list(tree, key);
      values.stream().filter(v -> !v.matches(form[0])).forEach(v -> problems.add(key + ": '" + v + "' is not "
          + form[1]));
      sets.put(key, values);
    });
    sets.put("hostprep.variantDrivers", vfioDrivers);
    return sets;
  }

  /** {@code host.vfioDrivers}: a YAML list or a comma-separated value of VFIO variant driver names. */
  private static List<String> liveUpdateBinaries(JsonNode tree, List<String> problems) {
    List<String> paths = list(tree, "liveUpdate.binaries");
    for (String path : paths) {
      if (!path.startsWith("/")) {
        problems.add("liveUpdate.binaries: '" + path + "' is not an absolute path; list QEMU binaries by their full"
            + " path, e.g. /usr/bin/qemu-system-x86_64");
      }
    }
    return paths;
  }

  private static List<String> vfioDrivers(JsonNode tree, List<String> problems) {
    List<String> names = list(tree, "host.vfioDrivers");
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

  /** A positive whole number, or null after adding the problem. */
  private static Integer integer(JsonNode tree, String key, List<String> problems) {
    String text = text(tree, key);
    try {
      int n = Integer.parseInt(text.strip());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below, with the key
    }
    problems.add(key + ": '" + text + "' is not a positive whole number");
    return null;
  }

  /** {@code true} or {@code false}; anything else is a problem (and false). */
  private static boolean bool(JsonNode tree, String key, List<String> problems) {
    String text = text(tree, key);
    if (!text.equals("true") && !text.equals("false")) {
      problems.add(key + ": '" + text + "' must be true or false");
    }
    return Boolean.parseBoolean(text);
  }

  private static Duration duration(JsonNode tree, String key, List<String> problems) {
    return duration(key, text(tree, key), problems);
  }

  /** A positive duration written {@code 500ms}, {@code 30s}, {@code 2m} or ISO-8601; else a problem and 1 s. */
  static Duration duration(String key, String text, List<String> problems) {
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

  /**
   * When {@code key} is set: its file can be read by this process and holds a PEM block of
   * {@code kind} (e.g. {@code CERTIFICATE}; {@code PRIVATE KEY} also matches {@code RSA PRIVATE KEY}
   * and {@code EC PRIVATE KEY}), as the listeners and the relay will read it.
   */
  private static void pemFile(JsonNode tree, String key, String kind, List<String> problems) {
    Path file = path(text(tree, key));
    if (file == null) {
      return;
    }
    String text;
    try {
      text = Files.size(file) > MAX_PEM_BYTES ? "" : Files.readString(file, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      problems.add(key + ": " + file + " does not exist; give the path of a PEM file");
      return;
    } catch (IOException e) {
      problems.add(key + ": cannot read " + file + " (" + e + "); make it readable by the daemon's user"
          + " (run config check as that user)");
      return;
    }
    if (!Pattern.compile("-----BEGIN ([A-Z]+ )?" + kind + "-----").matcher(text).find()) {
      problems.add(key + ": " + file + " holds no PEM " + kind + " (a '-----BEGIN " + kind + "-----' block);"
          + " give the " + (kind.equals("CERTIFICATE") ? "certificate" : "private key") + "'s PEM file");
    }
  }

  /**
   * {@code key}'s directory ({@code parent}: the directory of {@code key}'s file) is one, or can be
   * made: the daemon creates it when missing, under its nearest existing ancestor, which must be a
   * directory.
   */
  private static void directory(JsonNode tree, String key, boolean parent, List<String> problems) {
    Path path = path(text(tree, key));
    Path dir = path == null ? null : parent ? path.toAbsolutePath().getParent() : path;
    if (dir == null) {
      return;
    }
    if (Files.exists(dir)) {
      if (!Files.isDirectory(dir)) {
        problems.add(key + ": " + dir + " exists and is not a directory; remove it or choose another " + key);
      }
      return;
    }
    Path existing = dir.toAbsolutePath().getParent();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing != null && !Files.isDirectory(existing)) {
      problems.add(key + ": " + dir + " cannot be created: " + existing + " is not a directory; choose another "
          + key);
    }
  }

  private static Path path(String text) {
    return text == null || text.isEmpty() ? null : Path.of(text);
  }
}
