package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.sidecar.migration.Strategy;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the completion script offers for arguments picocli cannot know by itself: the migration
 * strategies, and the names of the VMs, which only the running sidecar knows. For those the
 * script asks {@code qmp-sidecar vms --names} when TAB is pressed, bounded by
 * {@link #VM_NAMES_SECONDS}, and offers nothing when the sidecar does not answer.
 */
final class Completions {
  /** The longest the completion script waits for the sidecar's VM names. */
  static final int VM_NAMES_SECONDS = 5;
  /** The one candidate of {@link VmNames} in picocli's script, replaced by the call that lists them. */
  private static final String VM_NAMES = "@qmp-sidecar-vm-names@";
  private static final String VM_NAMES_FUNCTION = "_qmp_sidecar_vm_names";

  private Completions() {}

  /** The migration strategies' names, e.g. {@code unplug-replug}. */
  static final class Strategies implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return Arrays.stream(Strategy.values()).map(Strategy::wireName).iterator();
    }
  }

  /** The VMs' names: a stand-in that {@link #bash} turns into a call to the sidecar. */
  static final class VmNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return List.of(VM_NAMES).iterator();
    }
  }

  /**
   * Picocli's bash script with the VM names asked of the sidecar: through the same program and
   * the {@code --api}, {@code --api-ca} and {@code --token-file} of the line being completed
   * (else {@code QMP_SIDECAR_API} or the default socket).
   */
  static String bash(String picocli) {
    String function = """

        # VM names from the running sidecar, asked with the line's --api, --api-ca and --token-file,
        # for at most %d s; nothing when it does not answer.
        function %s() {
          local i word api=()
          for (( i=1; i<COMP_CWORD; i++ )); do
            word=${COMP_WORDS[i]}
            case $word in
              --api|--api-ca|--token-file) api+=("$word" "${COMP_WORDS[i+1]}") ;;
              --api=*|--api-ca=*|--token-file=*) api+=("$word") ;;
            esac
          done
          timeout %d "${COMP_WORDS[0]}" vms --names --timeout 2 "${api[@]}" 2>/dev/null
        }
        """.formatted(VM_NAMES_SECONDS, VM_NAMES_FUNCTION, VM_NAMES_SECONDS);
    // Picocli fills each candidate array at the top of a command's function, at every TAB; the
    // names are asked only where they are offered: each array of the stand-in goes, and its uses
    // call the function instead.
    Matcher arrays = Pattern.compile("\n *local (\\w+)=\\(\"" + Pattern.quote(VM_NAMES) + "\"\\)[^\n]*")
        .matcher(picocli);
    Set<String> names = new HashSet<>();
    while (arrays.find()) {
      names.add(arrays.group(1));
    }
    String script = arrays.replaceAll("");
    for (String name : names) {
      script = script.replace("\"${" + name + "[@]}\"", "$(" + VM_NAMES_FUNCTION + ")");
    }
    return script + function;
  }
}
