/**
 * Host preparation of PCI functions through sysfs: facts (PF, ids, IOMMU group), binding with
 * {@code driver_override}, {@code /dev/vfio} checks, and restoring the previous driver.
 *
 * <p>Foundation: may use {@code failure} only; used by the flows and above.
 */
package io.qmpsidecar.sidecar.hostprep;
