package io.qmpsidecar.sidecar.failure;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The one failure of the daemon: every operation, flow and store fails with it (or with a
 * library's own exception that {@link #from} translates). It is immutable: its {@link Kind}
 * decides how each entry point answers (one switch each: HTTP status in the API's
 * {@code Problem}, JSON-RPC code in the relay adapter, exit code in the CLI; docs/operations.md
 * has the table), its {@link #code()} is the stable name of the situation (the API's problem
 * type), and its data says which VM, what to do, what was undone, and the facts an answer
 * carries ({@link #details()}: QEMU's class and text, the policy rule, the host function...).
 */
public final class SidecarException extends RuntimeException {
  /** The members of an API problem (RFC 9457's and the sidecar's), which no detail may be named. */
  public static final Set<String> RESERVED_DETAILS =
      Set.of("type", "title", "status", "detail", "instance", "kind", "fix", "rolledBack");

  /** How a failure is answered; each entry point maps every kind in one switch. */
  public enum Kind {
    /** The request is malformed or names something impossible; nothing ran. */
    INVALID,
    /** The configuration or a policy file is invalid; nothing changed. */
    CONFIGURATION,
    /** The policy denied it; nothing ran. */
    DENIED,
    /** The caller ran out of its rate limit; retry later. */
    THROTTLED,
    /** The VM, device, migration or other thing named does not exist. */
    NOT_FOUND,
    /** It conflicts with the current state (id in use, no free slot, refused migration). */
    CONFLICT,
    /** The VM is migrating. */
    MIGRATING,
    /** QEMU reports reasons that block a migration. */
    MIGRATION_BLOCKED,
    /** Too much is already queued; retry later. */
    BUSY,
    /** The host function is not ready for passthrough (sysfs, IOMMU group, driver, /dev/vfio). */
    HOST_PREREQUISITE,
    /** QEMU refused a command; its class and text are in the details, unchanged. */
    QEMU_ERROR,
    /** The guest did not release a device in time. */
    GUEST_TIMEOUT,
    /** QEMU (or another part) is not reachable now. */
    UNAVAILABLE,
    /** A bounded wait ran out. */
    TIMEOUT,
    /** QEMU answered something that is not QMP. */
    PROTOCOL,
    /** The operation failed for a reason outside the request (and was undone where it could be). */
    FAILED,
    /** A defect or an unexpected failure inside the sidecar. */
    INTERNAL
  }

  private final Kind kind;
  private final String code;
  private final String vm;
  private final String fix;
  private final List<String> rolledBack;
  private final Map<String, Object> details;

  private SidecarException(Builder b, List<String> rolledBack) {
    super(b.message, b.cause);
    this.kind = b.kind;
    this.code = b.code;
    this.vm = b.vm;
    this.fix = b.fix;
    this.rolledBack = List.copyOf(rolledBack);
    this.details = Collections.unmodifiableMap(new LinkedHashMap<>(b.details));
  }

  /**
   * Starts a failure.
   *
   * @param code the stable name of the situation, lower case with dashes (e.g. {@code vm-not-found})
   * @param message what happened and, when {@code fix} is not given separately, what to do
   */
  public static Builder of(Kind kind, String code, String message) {
    return new Builder(kind, code, message);
  }

  /**
   * {@code e} as a sidecar failure: itself when it is one, else the translation of a library's
   * failure (QMP, policy) or an {@link Kind#INTERNAL} failure keeping its message.
   */
  public static SidecarException from(Throwable e) {
    return Translation.of(e);
  }

  public Kind kind() {
    return kind;
  }

  /** The stable name of the situation, e.g. {@code vm-not-found}, {@code qemu-error}. */
  public String code() {
    return code;
  }

  /** The VM concerned, or null. */
  public String vm() {
    return vm;
  }

  /** What to do about it, or null when the message says it. */
  public String fix() {
    return fix;
  }

  /** The steps that undid the operation's changes, in order; empty when nothing had changed. */
  public List<String> rolledBack() {
    return rolledBack;
  }

  /** Facts an answer carries, as JSON-friendly values (strings, numbers, lists, maps). */
  public Map<String, Object> details() {
    return details;
  }

  /** One detail, or null. */
  public Object detail(String name) {
    return details.get(name);
  }

  /** The same failure after the operation undid its changes with {@code steps}. */
  public SidecarException withRollback(List<String> steps) {
    if (steps.isEmpty()) {
      return this;
    }
    List<String> all = new ArrayList<>(rolledBack);
    all.addAll(steps);
    Builder b = new Builder(kind, code, super.getMessage()).vm(vm).fix(fix).cause(getCause());
    b.details.putAll(details);
    SidecarException copy = new SidecarException(b, all);
    copy.setStackTrace(getStackTrace());
    return copy;
  }

  @Override
  public String getMessage() {
    String message = super.getMessage();
    if (fix != null) {
      message = message + "; " + fix;
    }
    return rolledBack.isEmpty() ? message : message + " (rolled back: " + String.join("; ", rolledBack) + ")";
  }

  /** Builds an immutable {@link SidecarException}. */
  public static final class Builder {
    private final Kind kind;
    private final String code;
    private final String message;
    private final Map<String, Object> details = new LinkedHashMap<>();
    private String vm;
    private String fix;
    private Throwable cause;

    private Builder(Kind kind, String code, String message) {
      this.kind = Objects.requireNonNull(kind, "kind");
      this.code = Objects.requireNonNull(code, "code");
      this.message = Objects.requireNonNull(message, "message");
    }

    public Builder vm(String name) {
      this.vm = name;
      return this;
    }

    /** What the user should do; appended to the message. */
    public Builder fix(String what) {
      this.fix = what;
      return this;
    }

    public Builder cause(Throwable e) {
      this.cause = e;
      return this;
    }

    /**
     * Adds a fact; a null value is left out.
     *
     * @throws IllegalArgumentException for a name an API problem uses for its own members
     *     ({@link #RESERVED_DETAILS}): the answer would carry that member, not the fact
     */
    public Builder detail(String name, Object value) {
      if (RESERVED_DETAILS.contains(name)) {
        throw new IllegalArgumentException("detail '" + name + "' would be hidden by the API problem's own member;"
            + " give the fact another name");
      }
      if (value != null) {
        details.put(name, value);
      }
      return this;
    }

    public SidecarException build() {
      return new SidecarException(this, List.of());
    }
  }
}
