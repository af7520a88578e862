package io.qmpsidecar.libvirt;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What a migration asks of libvirt: its flags and the typed parameters the client sets
 * ({@code migrate_uri}, {@code listen_address}, {@code bandwidth}); an empty value leaves
 * libvirt's default.
 *
 * @param flags libvirt migration flags
 * @param migrateUri where QEMU sends the migration stream, e.g. {@code tcp://10.0.0.2}
 *     ({@code VIR_MIGRATE_PARAM_URI}); empty lets the destination choose from its host name
 * @param listenAddress the address the destination QEMU listens on
 *     ({@code VIR_MIGRATE_PARAM_LISTEN_ADDRESS}); empty is libvirt's default (every address)
 * @param bandwidthMiBs bandwidth cap in MiB/s ({@code VIR_MIGRATE_PARAM_BANDWIDTH}), 0 for none
 */
public record MigrationOptions(Set<MigrationFlag> flags, Optional<String> migrateUri,
    Optional<String> listenAddress, long bandwidthMiBs) {

  public MigrationOptions {
    flags = flags.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(flags));
    Objects.requireNonNull(migrateUri, "migrateUri");
    Objects.requireNonNull(listenAddress, "listenAddress");
    if (bandwidthMiBs < 0) {
      throw new IllegalArgumentException("bandwidthMiBs must be >= 0, got " + bandwidthMiBs);
    }
  }

  /** A live migration with libvirt's defaults for everything else. */
  public static MigrationOptions live() {
    return new MigrationOptions(Set.of(MigrationFlag.LIVE), Optional.empty(), Optional.empty(), 0);
  }

  public MigrationOptions withFlag(MigrationFlag flag) {
    EnumSet<MigrationFlag> more = flags.isEmpty() ? EnumSet.noneOf(MigrationFlag.class) : EnumSet.copyOf(flags);
    more.add(flag);
    return new MigrationOptions(more, migrateUri, listenAddress, bandwidthMiBs);
  }

  public MigrationOptions withMigrateUri(String uri) {
    return new MigrationOptions(flags, Optional.of(uri), listenAddress, bandwidthMiBs);
  }

  public MigrationOptions withListenAddress(String address) {
    return new MigrationOptions(flags, migrateUri, Optional.of(address), bandwidthMiBs);
  }

  public MigrationOptions withBandwidthMiBs(long mibs) {
    return new MigrationOptions(flags, migrateUri, listenAddress, mibs);
  }

  /** The flags as libvirt's bit mask. */
  public int flagBits() {
    int bits = 0;
    for (MigrationFlag f : flags) {
      bits |= f.value();
    }
    return bits;
  }
}
