package io.qmpsidecar.qmp;

/** One entry of {@code qom-list}: a property name and its QOM type (e.g. {@code child<e1000e>}). */
public record ObjectProperty(String name, String type) {}
