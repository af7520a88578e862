package io.qmpsidecar.qmp.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.TestTemplate;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the test once per QEMU in {@link QemuBinaries#all()}; the report names each run by the
 * QEMU version. The test may take a {@link QemuBinary} parameter.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@TestTemplate
@ExtendWith(QemuInvocations.class)
public @interface QemuTest {}
