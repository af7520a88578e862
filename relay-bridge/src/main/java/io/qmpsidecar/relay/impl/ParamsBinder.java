package io.qmpsidecar.relay.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayErrorException;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Binds a request's params to the method's record, strictly: a required member missing, a member
 * of the wrong type or form, is INVALID_PARAMS naming the member (in the message and as
 * {@code data.member}); members the method does not define are ignored, so that a newer DPU may
 * send more. Runs before the policy sees the request.
 */
final class ParamsBinder {

  /** Longest opId accepted; keeps the idempotency table's rows small. */
  static final int MAX_OP_ID_CHARS = 128;
  /** Longest VM name and device id accepted. */
  static final int MAX_NAME_CHARS = 128;

  /** A PCI address: the device number is 5 bits (00 to 1f), the function 3. */
  private static final Pattern BDF = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\\.[0-7]");
  private static final Pattern MDEV = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  /** QEMU's rule for ids ({@code id_wellformed}): a letter, then letters, digits, '-', '.', '_'. */
  private static final Pattern QEMU_ID = Pattern.compile("[A-Za-z][A-Za-z0-9._-]*");

  private ParamsBinder() {}

  /** {@code bdf} or {@code mdev}, exactly one. */
  static DeviceAttachParams attach(JsonNode p) {
    String opId = opId(p);
    String vm = name(p, "vm", true);
    String mdev = mdev(p);
    if (mdev != null && p.hasNonNull("bdf")) {
      throw invalid("mdev", "parameters \"bdf\" and \"mdev\" name two functions; give one of them");
    }
    if (mdev == null && !p.hasNonNull("bdf")) {
      throw invalid("bdf", "parameter \"bdf\" is missing: give a PCI function's \"bdf\" or a mediated device's \"mdev\"");
    }
    return new DeviceAttachParams(opId, vm, mdev == null ? bdf(p) : null, deviceId(p, false), mdev);
  }

  static DeviceDetachParams detach(JsonNode p) {
    return new DeviceDetachParams(opId(p), name(p, "vm", true), deviceId(p, true));
  }

  /** {@code device.list}: the VM, or null for every VM. */
  static String listVm(JsonNode p) {
    return name(p, "vm", false);
  }

  private static String opId(JsonNode p) {
    String opId = string(p, "opId", true);
    int characters = opId.codePointCount(0, opId.length());
    if (characters == 0 || characters > MAX_OP_ID_CHARS) {
      throw invalid("opId", "parameter \"opId\" must have 1 to " + MAX_OP_ID_CHARS + " characters, it has "
          + characters);
    }
    return opId;
  }

  private static String name(JsonNode p, String member, boolean required) {
    String v = string(p, member, required);
    if (v != null && (v.isBlank() || v.codePointCount(0, v.length()) > MAX_NAME_CHARS)) {
      throw invalid(member, "parameter \"" + member + "\" must be a name of 1 to " + MAX_NAME_CHARS
          + " characters");
    }
    return v;
  }

  private static String bdf(JsonNode p) {
    String v = string(p, "bdf", true).toLowerCase(Locale.ROOT);
    if (!BDF.matcher(v).matches()) {
      throw invalid("bdf", "parameter \"bdf\" must be a PCI address DDDD:BB:DD.F as in /sys/bus/pci/devices,"
          + " e.g. 0000:03:00.1, not '" + v + "'");
    }
    return v;
  }

  private static String mdev(JsonNode p) {
    String given = string(p, "mdev", false);
    String v = given == null ? null : given.toLowerCase(Locale.ROOT);
    if (v != null && !MDEV.matcher(v).matches()) {
      throw invalid("mdev", "parameter \"mdev\" must be a mediated device's UUID as in /sys/bus/mdev/devices,"
          + " e.g. 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001, not '" + v + "'");
    }
    return v;
  }

  private static String deviceId(JsonNode p, boolean required) {
    String v = string(p, "deviceId", required);
    if (v != null && (v.length() > MAX_NAME_CHARS || !QEMU_ID.matcher(v).matches())) {
      throw invalid("deviceId", "parameter \"deviceId\" must be a QEMU device id (a letter, then letters,"
          + " digits, '-', '.' or '_', at most " + MAX_NAME_CHARS + " characters), not '" + v + "'");
    }
    return v;
  }

  /** A string member; null when absent or JSON null and not required. */
  private static String string(JsonNode p, String member, boolean required) {
    JsonNode v = p.get(member);
    if (v == null || v.isNull()) {
      if (required) {
        throw invalid(member, "parameter \"" + member + "\" is missing");
      }
      return null;
    }
    if (!v.isTextual()) {
      throw invalid(member, "parameter \"" + member + "\" must be a string, not " + kind(v));
    }
    return v.asText();
  }

  private static String kind(JsonNode v) {
    return switch (v.getNodeType()) {
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      default -> v.getNodeType().name().toLowerCase(Locale.ROOT);
    };
  }

  private static RelayErrorException invalid(String member, String message) {
    return new RelayErrorException(new RelayError(ErrorCode.INVALID_PARAMS, message
        + "; see docs/relay-protocol.md for the method's parameters", Map.of("member", member)));
  }
}
