package io.qmpsidecar.sidecar;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sidecar's packages form layers that depend one way, top to bottom, with no cycle (see each
 * package-info.java and ARCHITECTURE.md's picture):
 *
 * <pre>
 *   cli, demo                        the process: commands and the demo story
 *   daemon                           wiring only: builds every part, starts and stops them
 *   api, proxy, relay, automation    entry points: authenticate, name the caller, bind requests
 *   ops                              where work is done and the policy decides, once
 *   hotplug, migration, libvirt,     the flows (libvirt: the flows of VMs libvirt manages;
 *   liveupdate                       liveupdate: a new QEMU under a running VM)
 *   hostprep, state, events, vm,     what the flows use: sysfs, the store, the event stream,
 *   config, metrics                  the VMs' connections, the configuration, the meters
 *   failure                          the one failure vocabulary, usable everywhere
 * </pre>
 *
 * Checked on the compiled classes (ArchUnit), so a fully qualified reference counts as much as
 * an import does.
 */
class LayeringTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.qmpsidecar.sidecar");
  }

  @Test
  void importsRunDownTheLayersOnly() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("process").definedBy("..sidecar.cli..", "..sidecar.demo..")
        .layer("daemon").definedBy("..sidecar.daemon..")
        .layer("entry points").definedBy("..sidecar.api..", "..sidecar.proxy..", "..sidecar.relay..",
            "..sidecar.automation..")
        .layer("ops").definedBy("..sidecar.ops..")
        .layer("flows").definedBy("..sidecar.hotplug..", "..sidecar.migration..", "..sidecar.libvirt..",
            "..sidecar.liveupdate..")
        .layer("foundation").definedBy("..sidecar.hostprep..", "..sidecar.state..", "..sidecar.events..",
            "..sidecar.vm..", "..sidecar.config..", "..sidecar.metrics..")
        .layer("failure").definedBy("..sidecar.failure..")
        .whereLayer("process").mayNotBeAccessedByAnyLayer()
        .whereLayer("daemon").mayOnlyBeAccessedByLayers("process")
        .whereLayer("entry points").mayOnlyBeAccessedByLayers("process", "daemon")
        .whereLayer("ops").mayOnlyBeAccessedByLayers("process", "daemon", "entry points")
        .whereLayer("flows").mayOnlyBeAccessedByLayers("process", "daemon", "entry points", "ops")
        .whereLayer("foundation").mayOnlyBeAccessedByLayers("process", "daemon", "entry points", "ops", "flows")
        .whereLayer("failure").mayOnlyBeAccessedByLayers("process", "daemon", "entry points", "ops", "flows",
            "foundation")
        .check(classes);
  }

  @Test
  void noPackageDependsOnItselfThroughAnother() {
    slices().matching("io.qmpsidecar.sidecar.(*)..").should().beFreeOfCycles().check(classes);
  }
}
