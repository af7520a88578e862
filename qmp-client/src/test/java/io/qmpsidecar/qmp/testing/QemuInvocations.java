package io.qmpsidecar.qmp.testing;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.Extension;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestTemplateInvocationContext;
import org.junit.jupiter.api.extension.TestTemplateInvocationContextProvider;

/** One invocation of a {@link QemuTest} per QEMU binary, resolving the {@link QemuBinary}. */
public final class QemuInvocations implements TestTemplateInvocationContextProvider {

  @Override
  public boolean supportsTestTemplate(ExtensionContext context) {
    return context.getRequiredTestMethod().isAnnotationPresent(QemuTest.class);
  }

  @Override
  public Stream<TestTemplateInvocationContext> provideTestTemplateInvocationContexts(ExtensionContext context) {
    String method = context.getRequiredTestMethod().getName();
    return QemuBinaries.all().stream().map(binary -> invocation(method, binary));
  }

  private static TestTemplateInvocationContext invocation(String method, QemuBinary binary) {
    return new TestTemplateInvocationContext() {
      @Override
      public String getDisplayName(int index) {
        return method + " [" + binary + "]";
      }

      @Override
      public List<Extension> getAdditionalExtensions() {
        return List.of(new ParameterResolver() {
          @Override
          public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
            return p.getParameter().getType() == QemuBinary.class;
          }

          @Override
          public Object resolveParameter(ParameterContext p, ExtensionContext e) {
            return binary;
          }
        });
      }
    };
  }
}
