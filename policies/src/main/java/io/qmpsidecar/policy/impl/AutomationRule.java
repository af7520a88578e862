package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * An {@code automation} entry: on an event whose name matches {@code event} and whose data
 * satisfies every condition, request {@code command} with {@code arguments} as caller
 * {@code rule:<id>}, at most once per {@code cooldownMillis}.
 */
record AutomationRule(
    String id,
    StringMatcher event,
    List<Condition> conditions,
    String command,
    JsonNode arguments,
    long cooldownMillis) {

  boolean matches(String eventName, JsonNode data) {
    if (!event.matches(eventName)) {
      return false;
    }
    for (Condition condition : conditions) {
      if (!condition.test(data, EvalContext.NONE)) {
        return false;
      }
    }
    return true;
  }
}
