package io.qmpsidecar.sidecar.hostprep;

import java.util.Locale;
import java.util.regex.Pattern;

/** A PCI address {@code dddd:bb:dd.f} in lower case; {@code bb:dd.f} means domain 0000. */
public record Bdf(String value) {
  private static final Pattern FULL = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\\.[0-7]");

  /** Validates; throws {@link IllegalArgumentException} naming the expected form. */
  public Bdf {
    if (value == null || !FULL.matcher(value).matches()) {
      throw new IllegalArgumentException("invalid PCI address '" + value
          + "': use dddd:bb:dd.f, e.g. 0000:03:00.2 (as in /sys/bus/pci/devices)");
    }
  }

  /** Parses {@code dddd:bb:dd.f} or {@code bb:dd.f}, any case. */
  public static Bdf parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("a PCI address is required, e.g. 0000:03:00.2");
    }
    String t = text.trim().toLowerCase(Locale.ROOT);
    return new Bdf(t.length() == 7 ? "0000:" + t : t);
  }

  @Override
  public String toString() {
    return value;
  }
}
