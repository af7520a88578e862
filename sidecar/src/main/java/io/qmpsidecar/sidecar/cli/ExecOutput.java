package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Prints QEMU's {@code return} value: as indented JSON, or as a table (an array of objects gets
 * one row per element and one column per key; an object gets one {@code key value} row per
 * member; nested values are shown as compact JSON).
 */
final class ExecOutput {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How to print. */
  enum Format { json, table }

  private ExecOutput() {}

  static String render(JsonNode value, Format format) {
    return format == Format.json ? pretty(value) : table(value);
  }

  private static String pretty(JsonNode value) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot print QEMU's reply", e);
    }
  }

  private static String table(JsonNode value) {
    List<List<String>> rows = new ArrayList<>();
    if (value.isArray() && value.size() > 0 && allObjects(value)) {
      Set<String> columns = new LinkedHashSet<>();
      value.forEach(row -> row.fieldNames().forEachRemaining(columns::add));
      rows.add(new ArrayList<>(columns));
      for (JsonNode row : value) {
        List<String> cells = new ArrayList<>();
        columns.forEach(c -> cells.add(row.has(c) ? cell(row.get(c)) : ""));
        rows.add(cells);
      }
    } else if (value.isObject() && value.size() > 0) {
      for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> member = it.next();
        rows.add(List.of(member.getKey(), cell(member.getValue())));
      }
    } else {
      return cell(value);
    }
    return align(rows);
  }

  private static boolean allObjects(JsonNode array) {
    for (JsonNode element : array) {
      if (!element.isObject()) {
        return false;
      }
    }
    return true;
  }

  private static String cell(JsonNode value) {
    return value.isValueNode() ? value.asText() : value.toString();
  }

  private static String align(List<List<String>> rows) {
    int columns = rows.get(0).size();
    int[] width = new int[columns];
    for (List<String> row : rows) {
      for (int i = 0; i < columns; i++) {
        width[i] = Math.max(width[i], row.get(i).length());
      }
    }
    StringBuilder out = new StringBuilder();
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < columns; i++) {
        line.append(i == columns - 1 ? row.get(i) : String.format("%-" + width[i] + "s  ", row.get(i)));
      }
      out.append(line.toString().stripTrailing()).append(System.lineSeparator());
    }
    return out.toString().stripTrailing();
  }
}
