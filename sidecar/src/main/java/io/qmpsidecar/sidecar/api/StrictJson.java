package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.qmpsidecar.sidecar.failure.Failures;
import java.util.stream.Collectors;

/**
 * Binds request bodies to records strictly, before anything else looks at them: unknown members,
 * duplicate members, wrong JSON types, strings where numbers or booleans belong (and numbers
 * where strings belong), fractions where integers belong, and trailing text are all refused with
 * a {@code bad-request} failure naming the member and what it takes.
 */
final class StrictJson {
  static final ObjectMapper MAPPER = mapper();

  private StrictJson() {}

  private static ObjectMapper mapper() {
    JsonMapper m = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_TRAILING_TOKENS,
            DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .build();
    for (LogicalType t : new LogicalType[] {LogicalType.Boolean, LogicalType.Integer, LogicalType.Float,
        LogicalType.Textual}) {
      m.coercionConfigFor(t).setAcceptBlankAsEmpty(false)
          .setCoercion(CoercionInputShape.String, t == LogicalType.Textual ? CoercionAction.TryConvert : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Integer, t == LogicalType.Integer || t == LogicalType.Float
              ? CoercionAction.TryConvert : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, t == LogicalType.Float ? CoercionAction.TryConvert : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Boolean, t == LogicalType.Boolean ? CoercionAction.TryConvert : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.EmptyString, t == LogicalType.Textual ? CoercionAction.TryConvert
              : CoercionAction.Fail);
    }
    return m;
  }

  /**
   * The body as a {@code type}.
   *
   * @param example a valid body, quoted in the refusal of an empty or non-object body
   * @throws SidecarException {@code INVALID} ({@code bad-request}) naming what is wrong
   */
  static <T> T bind(String body, Class<T> type, String example) {
    if (body == null || body.isBlank()) {
      throw Failures.badRequest("the body must be a JSON object, e.g. " + example);
    }
    try {
      T bound = MAPPER.readValue(body, type);
      if (bound == null) {
        // The literal null, which Jackson binds to no object at all.
        throw Failures.badRequest("the body must be a JSON object, not null, e.g. " + example);
      }
      return bound;
    } catch (UnrecognizedPropertyException e) {
      throw Failures.badRequest("unknown member '" + path(e) + "'; this route takes "
          + e.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", ")));
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw Failures.badRequest(cause.getMessage());
    } catch (InvalidNullException e) {
      throw Failures.badRequest("member '" + path(e) + "' must not be null");
    } catch (MismatchedInputException e) {
      String where = path(e);
      throw Failures.badRequest(where.isEmpty() ? "the body must be a JSON object, e.g. " + example
          : "member '" + where + "' must be " + expected(e.getTargetType()) + given(e));
    } catch (JsonParseException e) {
      throw Failures.badRequest("the body is not valid JSON: " + firstLine(e.getOriginalMessage()) + " at line "
          + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr());
    } catch (JsonProcessingException e) {
      throw Failures.badRequest("the body cannot be read: " + firstLine(e.getOriginalMessage()));
    }
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining(".")).replace(".[", "[");
  }

  private static String expected(Class<?> type) {
    if (type == null) {
      return "of another type";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
      return "an integer";
    }
    if (type == String.class) {
      return "a string";
    }
    if (type.isRecord() || ObjectNode.class.isAssignableFrom(type)) {
      return "an object";
    }
    if (JsonNode.class.isAssignableFrom(type)) {
      return "a JSON value";
    }
    return "a " + type.getSimpleName();
  }

  /** What the body had there instead, when the parser still knows. */
  private static String given(MismatchedInputException e) {
    if (!(e.getProcessor() instanceof JsonParser p) || p.currentToken() == null) {
      return "";
    }
    return switch (p.currentToken()) {
      case START_ARRAY -> ", not a list";
      case START_OBJECT -> ", not an object";
      case VALUE_STRING -> ", not a string";
      case VALUE_NUMBER_INT -> ", not an integer";
      case VALUE_NUMBER_FLOAT -> ", not a fraction";
      case VALUE_TRUE, VALUE_FALSE -> ", not a boolean";
      case VALUE_NULL -> ", not null";
      default -> "";
    };
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("");
  }
}
