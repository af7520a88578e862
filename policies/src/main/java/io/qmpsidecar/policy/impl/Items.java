package io.qmpsidecar.policy.impl;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * A list in a hotplug section: literal entries from the policy file and entries taken from the
 * configuration's value sets ({@code {value-set: NAME}}), resolved at each decision. Values are
 * put in canonical form (e.g. a PCI address with its domain, in lower case) both ways. The list
 * is "configured" when it resolves to at least one entry.
 */
record Items(Set<String> literals, List<String> valueSets, UnaryOperator<String> canonical) {

  static Items none() {
    return new Items(Set.of(), List.of(), UnaryOperator.identity());
  }

  /** Every entry, literal and from the value sets, in canonical form. */
  Set<String> resolve(EvalContext context) {
    if (valueSets.isEmpty()) {
      return literals;
    }
    Set<String> all = new LinkedHashSet<>(literals);
    for (String set : valueSets) {
      for (String value : context.valueSet(set)) {
        all.add(canonical.apply(value));
      }
    }
    return all;
  }

  /** Entries resolved as globs. */
  List<StringMatcher> globs(EvalContext context) {
    List<StringMatcher> out = new ArrayList<>();
    for (String g : resolve(context)) {
      out.add(StringMatcher.glob(g));
    }
    return out;
  }
}
