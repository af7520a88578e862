package io.qmpsidecar.sidecar.liveupdate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CprCommandLineTest {
  private static final Path CPR = Path.of("/var/lib/qmp-sidecar/live-update/vm1/cpr.sock");
  private static final String CPR_CHANNEL = "{\"channel-type\":\"cpr\",\"addr\":{\"transport\":\"socket\","
      + "\"type\":\"unix\",\"path\":\"/var/lib/qmp-sidecar/live-update/vm1/cpr.sock\"}}";

  @Test
  void theBinaryIsFoundBehindALoader() {
    List<String> argv = List.of("/root/lib/ld-linux-x86-64.so.2", "--library-path", "/root/lib",
        "/root/usr/bin/qemu-system-x86_64", "-L", "/root/usr/share/qemu", "-m", "64");
    assertThat(CprCommandLine.binaryIndex(argv)).isEqualTo(3);
    assertThatThrownBy(() -> CprCommandLine.binaryIndex(List.of("/usr/bin/python3", "x.py")))
        .hasMessageContaining("no qemu-system-* binary");
  }

  @Test
  void listeningSocketsAreThoseWithServer() {
    List<String> args = List.of("-qmp", "unix:/run/vm1.qmp,server=on,wait=off",
        "-chardev", "socket,id=mon1,path=/run/vm1.mon,server=on,wait=off",
        "-chardev", "socket,id=out,path=/run/vm1.client", "-qtest", "unix:/run/vm1.qtest,server=on,wait=off");
    assertThat(CprCommandLine.listeningSockets(args)).containsExactly("/run/vm1.qmp", "/run/vm1.mon", "/run/vm1.qtest");
  }

  @Test
  void theNewLineKeepsTheMachineMovesTheSocketsAndAddsBothIncomingChannels() {
    List<String> argv = List.of("/usr/bin/qemu-system-x86_64", "-machine", "q35,accel=kvm",
        "-object", "memory-backend-memfd,id=ram0,size=4G,share=on", "-machine", "memory-backend=ram0,aux-ram-share=on",
        "-qmp", "unix:/run/vm1.qmp,server=on,wait=off", "-daemonize", "-S", "-incoming", "defer",
        "-device", "vfio-pci,host=0000:3b:00.2,id=vf0");
    Map<String, String> moves = CprCommandLine.moves(List.of("/run/vm1.qmp"), ".live-update-0a1b2c");

    List<String> out = CprCommandLine.build(argv, "/opt/qemu-11.1/bin/qemu-system-x86_64", "pc-q35-10.0", moves, CPR);

    assertThat(out).containsExactly("/opt/qemu-11.1/bin/qemu-system-x86_64", "-machine", "pc-q35-10.0,accel=kvm",
        "-object", "memory-backend-memfd,id=ram0,size=4G,share=on",
        "-machine", "pc-q35-10.0,memory-backend=ram0,aux-ram-share=on",
        "-qmp", "unix:/run/vm1.qmp.live-update-0a1b2c,server=on,wait=off",
        "-device", "vfio-pci,host=0000:3b:00.2,id=vf0", "-incoming", "defer", "-incoming", CPR_CHANNEL);
  }

  @Test
  void withoutANewBinaryTheOldPathAndItsLoaderStay() {
    List<String> argv = List.of("/lib/ld.so", "/usr/bin/qemu-system-x86_64", "-M", "type=q35,smm=off");
    List<String> out = CprCommandLine.build(argv, null, "pc-q35-11.1", Map.of(), CPR);
    assertThat(out).containsExactly("/lib/ld.so", "/usr/bin/qemu-system-x86_64", "-M", "type=pc-q35-11.1,smm=off",
        "-incoming", "defer", "-incoming", CPR_CHANNEL);
  }

  @Test
  void aLineWithoutMachineGetsThePinnedType() {
    List<String> out = CprCommandLine.build(List.of("qemu-system-x86_64", "-m", "64"), null, "pc-i440fx-9.2",
        Map.of(), CPR);
    assertThat(out).containsSubsequence("-machine", "pc-i440fx-9.2", "-incoming", "defer");
  }

  @Test
  void eachUpdateGetsATemporarySuffixOfItsOwnOfTheLengthTheChecksAssume() {
    Random random = new Random(7);
    String first = CprCommandLine.movedSuffix(random);
    String second = CprCommandLine.movedSuffix(random);

    assertThat(first).matches("\\.live-update-[0-9a-f]{6}").hasSize(CprCommandLine.MOVED_LENGTH);
    assertThat(second).matches("\\.live-update-[0-9a-f]{6}").isNotEqualTo(first);
    assertThat(CprCommandLine.movedSuffix(new Random(0) {
      @Override
      public int nextInt(int bound) {
        return 0xab;
      }
    })).as("zero-padded").isEqualTo(".live-update-0000ab");
  }

  @Test
  void theSocketsAnEarlierUpdateMovedAreReadUnderTheNamesTheyWereRenamedTo() {
    List<String> argv = List.of("/usr/bin/qemu-system-x86_64",
        "-qmp", "unix:/run/vm1.qmp.live-update-0a1b2c,server=on,wait=off",
        "-chardev", "socket,id=mon1,path=/run/vm1.mon.live-update-0a1b2c,server=on,wait=off",
        "-chardev", "socket,id=c1,path=/run/vm1.live-update-0a1b2c",
        "-qtest", "unix:/run/vm1.qtest.live-update-0a1b2,server=on");

    assertThat(CprCommandLine.settled(argv)).containsExactly("/usr/bin/qemu-system-x86_64",
        "-qmp", "unix:/run/vm1.qmp,server=on,wait=off",
        "-chardev", "socket,id=mon1,path=/run/vm1.mon,server=on,wait=off",
        "-chardev", "socket,id=c1,path=/run/vm1.live-update-0a1b2c",
        "-qtest", "unix:/run/vm1.qtest.live-update-0a1b2,server=on");
  }

  @Test
  void thePidFileMovesWhileBothRunAndIsReadUnderItsNameAfterAnEarlierUpdate() {
    List<String> argv = List.of("/usr/bin/qemu-system-x86_64", "-qmp", "unix:/run/vm1.qmp,server=on,wait=off",
        "-daemonize", "-pidfile", "/run/vm1.pid", "-m", "64");
    List<String> args = argv.subList(1, argv.size());
    assertThat(CprCommandLine.pidFile(args)).isEqualTo("/run/vm1.pid");
    assertThat(CprCommandLine.pidFile(List.of("-m", "64"))).isNull();
    Map<String, String> moves = CprCommandLine.moves(List.of("/run/vm1.qmp", "/run/vm1.pid"), ".live-update-0a1b2c");

    assertThat(CprCommandLine.build(argv, null, "pc-q35-10.0", moves, CPR)).containsExactly(
        "/usr/bin/qemu-system-x86_64", "-qmp", "unix:/run/vm1.qmp.live-update-0a1b2c,server=on,wait=off",
        "-pidfile", "/run/vm1.pid.live-update-0a1b2c", "-m", "64", "-machine", "pc-q35-10.0",
        "-incoming", "defer", "-incoming", CPR_CHANNEL);
    assertThat(CprCommandLine.settled(List.of("/usr/bin/qemu-system-x86_64", "--pidfile",
        "/run/vm1.pid.live-update-0a1b2c", "-name", "x.live-update-0a1b2c")))
        .containsExactly("/usr/bin/qemu-system-x86_64", "--pidfile", "/run/vm1.pid", "-name", "x.live-update-0a1b2c");
  }
}
