package io.qmpsidecar.libvirt;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/**
 * Read-only view of a live domain XML: its devices by alias, its PCIe root ports and which of
 * them are free. A root port's controller {@code index} is the PCI bus number of the slot
 * behind it, so a device goes on a free port with {@code <address type='pci' bus='INDEX'
 * slot='0x00'/>}.
 */
public final class DomainXml {
  private final Document doc;

  private DomainXml(Document doc) {
    this.doc = doc;
  }

  /** A PCI address as libvirt writes it. */
  public record PciAddress(int domain, int bus, int slot, int function) {
    /** The {@code <address>} element for this address. */
    public String toXml() {
      return String.format("<address type='pci' domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>",
          domain, bus, slot, function);
    }
  }

  /** A {@code pcie-root-port} controller: {@code index} is the bus behind it. */
  public record RootPort(int index, String alias) {
    /** The address of slot 0 behind this port. */
    public PciAddress slotAddress() {
      return new PciAddress(0, index, 0, 0);
    }
  }

  /** Parses {@code xml}; DTDs and external entities are refused. */
  public static DomainXml parse(String xml) {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setExpandEntityReferences(false);
      return new DomainXml(f.newDocumentBuilder().parse(new InputSource(new StringReader(xml))));
    } catch (ParserConfigurationException | SAXException | IOException e) {
      throw new IllegalArgumentException("not a domain XML: " + e.getMessage(), e);
    }
  }

  public String name() {
    return childText(doc.getDocumentElement(), "name").orElse("");
  }

  public String uuid() {
    return childText(doc.getDocumentElement(), "uuid").orElse("");
  }

  /** The {@code pcie-root-port} controllers, in document order. */
  public List<RootPort> rootPorts() {
    List<RootPort> out = new ArrayList<>();
    for (Element c : devices("controller")) {
      if ("pci".equals(c.getAttribute("type")) && "pcie-root-port".equals(c.getAttribute("model"))) {
        out.add(new RootPort(Integer.parseInt(c.getAttribute("index")), alias(c).orElse("")));
      }
    }
    return List.copyOf(out);
  }

  /** Root ports with no device on their bus. */
  public List<RootPort> freeRootPorts() {
    Set<Integer> used = new HashSet<>();
    for (Element e : allDevices()) {
      address(e).ifPresent(a -> used.add(a.bus()));
    }
    return rootPorts().stream().filter(p -> !used.contains(p.index())).toList();
  }

  /** True when a device with this alias is in the XML. */
  public boolean hasAlias(String alias) {
    return device(alias).isPresent();
  }

  /** The element name of the device with this alias ({@code interface}, {@code hostdev}, ...). */
  public Optional<String> deviceKind(String alias) {
    return device(alias).map(Element::getTagName);
  }

  /** The PCI address of the device with this alias. */
  public Optional<PciAddress> addressOf(String alias) {
    return device(alias).flatMap(DomainXml::address);
  }

  /** Every device alias, in document order. */
  public List<String> aliases() {
    List<String> out = new ArrayList<>();
    for (Element e : allDevices()) {
      alias(e).ifPresent(out::add);
    }
    return List.copyOf(out);
  }

  private Optional<Element> device(String alias) {
    return allDevices().stream().filter(e -> alias(e).filter(alias::equals).isPresent()).findFirst();
  }

  private List<Element> allDevices() {
    List<Element> out = new ArrayList<>();
    Element devices = devicesElement();
    if (devices == null) {
      return out;
    }
    NodeList children = devices.getChildNodes();
    for (int i = 0; i < children.getLength(); i++) {
      if (children.item(i) instanceof Element e) {
        out.add(e);
      }
    }
    return out;
  }

  private List<Element> devices(String tag) {
    return allDevices().stream().filter(e -> e.getTagName().equals(tag)).toList();
  }

  private Element devicesElement() {
    NodeList l = doc.getDocumentElement().getElementsByTagName("devices");
    return l.getLength() == 0 ? null : (Element) l.item(0);
  }

  private static Optional<String> alias(Element device) {
    return child(device, "alias").map(a -> a.getAttribute("name")).filter(s -> !s.isEmpty());
  }

  private static Optional<PciAddress> address(Element device) {
    return child(device, "address").filter(a -> "pci".equals(a.getAttribute("type")))
        .map(a -> new PciAddress(num(a, "domain"), num(a, "bus"), num(a, "slot"), num(a, "function")));
  }

  private static int num(Element e, String attr) {
    String v = e.getAttribute(attr);
    if (v.isEmpty()) {
      return 0;
    }
    return v.startsWith("0x") ? Integer.parseInt(v.substring(2), 16) : Integer.parseInt(v);
  }

  private static Optional<Element> child(Element parent, String tag) {
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(tag)) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }

  private static Optional<String> childText(Element parent, String tag) {
    return child(parent, tag).map(e -> e.getTextContent().trim());
  }
}
