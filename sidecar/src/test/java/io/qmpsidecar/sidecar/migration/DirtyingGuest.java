package io.qmpsidecar.sidecar.migration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

/**
 * A guest that keeps dirtying RAM: a 512-byte boot sector SeaBIOS boots from an IDE disk. It
 * switches to 32-bit protected mode and, forever, writes a counter into one dword of every 4 KiB
 * page from 2 MiB to 10 MiB, so every pre-copy pass finds up to 2048 dirty pages. Assembled (GNU
 * as, {@code ld -Ttext 0x7c00 --oformat binary}) from:
 *
 * <pre>
 *   cli; xor %ax,%ax; mov %ax,%ds; lgdt gdtdesc
 *   mov %cr0,%eax; or $1,%eax; mov %eax,%cr0; ljmp $0x08,$pm
 * pm: mov $0x10,%ax; mov %ax,%ds; mov %ax,%es; xor %edx,%edx
 * loop: mov $0x200000,%edi
 * fill: mov %edx,(%edi); add $4096,%edi; cmp $0xa00000,%edi; jb fill
 *   inc %edx; jmp loop
 * gdt: null, flat 4 GiB code (0x00cf9a000000ffff), flat 4 GiB data (0x00cf92000000ffff)
 * </pre>
 */
final class DirtyingGuest {
  private static final String BOOT_SECTOR = "fa31c08ed80f0116587c0f20c06683c8010f22c0ea197c080066b810008ed88e"
      + "c031d2bf00002000891781c70010000081ff0000a00072f042ebe88d742600900000000000000000ffff0000009a"
      + "cf00ffff00000092cf001700407c";

  private DirtyingGuest() {}

  /**
   * Writes the 1 MiB disk image into {@code dir} and returns the QEMU arguments that boot it
   * under TCG. Image locking is off so that source and destination share the disk, as migration
   * with shared storage does.
   */
  static List<String> qemuArgs(Path dir) {
    Path image = dir.resolve("dirtying-guest.img");
    byte[] disk = new byte[1024 * 1024];
    byte[] code = HexFormat.of().parseHex(BOOT_SECTOR);
    System.arraycopy(code, 0, disk, 0, code.length);
    disk[510] = 0x55;
    disk[511] = (byte) 0xaa;
    try {
      Files.write(image, disk);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return List.of("-accel", "tcg", "-drive", "file=" + image + ",format=raw,if=none,id=d0,file.locking=off",
        "-device", "ide-hd,drive=d0,bus=ide.0");
  }
}
