package io.qmpsidecar.policy.impl;

import io.qmpsidecar.policy.RequestContext;
import io.qmpsidecar.policy.ValueSets;
import java.util.Set;

/**
 * Everything a rule's conditions may look at besides the arguments: the request's context (its
 * way, hotplug facts and fact sets) and the configuration's value sets.
 */
record EvalContext(RequestContext request, ValueSets valueSets) {

  /** No facts, no value sets: events of automation rules and schema inspection. */
  static final EvalContext NONE = new EvalContext(RequestContext.PASSTHROUGH, ValueSets.EMPTY);

  Set<String> fact(String name) {
    return request.fact(name);
  }

  Set<String> valueSet(String name) {
    return valueSets.get(name);
  }
}
