package io.qmpsidecar.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DomainXmlTest {
  // Trimmed from a live XML of libvirt 9.0 with QEMU 7.2: three root ports, a device on bus 2.
  private static final String LIVE = """
      <domain type='qemu' id='3'>
        <name>web1</name>
        <uuid>cd55b10b-44a5-4ba1-8111-cbc0523dc0eb</uuid>
        <devices>
          <controller type='pci' index='0' model='pcie-root'><alias name='pcie.0'/></controller>
          <controller type='pci' index='1' model='pcie-root-port'>
            <alias name='pci.1'/>
            <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0' multifunction='on'/>
          </controller>
          <controller type='pci' index='2' model='pcie-root-port'>
            <alias name='pci.2'/>
            <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x1'/>
          </controller>
          <controller type='pci' index='3' model='pcie-root-port'>
            <alias name='pci.3'/>
            <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
          </controller>
          <interface type='user'>
            <mac address='52:54:00:aa:bb:01'/>
            <alias name='ua-dpu-1'/>
            <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
          </interface>
          <hostdev mode='subsystem' type='pci' managed='no'>
            <alias name='hostdev0'/>
          </hostdev>
        </devices>
      </domain>
      """;

  @Test
  void findsRootPortsAndWhichAreFree() {
    DomainXml xml = DomainXml.parse(LIVE);
    assertThat(xml.name()).isEqualTo("web1");
    assertThat(xml.uuid()).isEqualTo("cd55b10b-44a5-4ba1-8111-cbc0523dc0eb");
    assertThat(xml.rootPorts()).extracting(DomainXml.RootPort::index).containsExactly(1, 2, 3);
    assertThat(xml.freeRootPorts()).extracting(DomainXml.RootPort::alias).containsExactly("pci.1", "pci.3");
  }

  @Test
  void findsDevicesByAlias() {
    DomainXml xml = DomainXml.parse(LIVE);
    assertThat(xml.addressOf("ua-dpu-1")).contains(new DomainXml.PciAddress(0, 2, 0, 0));
    assertThat(xml.deviceKind("ua-dpu-1")).contains("interface");
    assertThat(xml.deviceKind("hostdev0")).contains("hostdev");
    assertThat(xml.addressOf("hostdev0")).isEmpty();
    assertThat(xml.hasAlias("ua-dpu-9")).isFalse();
    assertThat(xml.aliases()).containsExactly("pcie.0", "pci.1", "pci.2", "pci.3", "ua-dpu-1", "hostdev0");
  }

  @Test
  void writesTheAddressOfSlotZeroBehindAPort() {
    assertThat(new DomainXml.RootPort(3, "pci.3").slotAddress().toXml())
        .isEqualTo("<address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>");
  }

  @Test
  void refusesDoctypesAndGarbage() {
    assertThatThrownBy(() -> DomainXml.parse("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>&x;</domain>"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("not a domain XML");
    assertThatThrownBy(() -> DomainXml.parse("{}")).isInstanceOf(IllegalArgumentException.class);
  }
}
