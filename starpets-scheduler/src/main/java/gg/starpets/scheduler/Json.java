package gg.starpets.scheduler;

import java.util.Map;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** The engine's one JSON mapper, for the JSON it stores (params, policies, results, audit events). */
final class Json {

    /** Default settings; thread-safe once built. */
    static final JsonMapper MAPPER = JsonMapper.builder().build();

    private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() {};

    private Json() {}

    /** A JSON object as a map, or null for null. */
    static Map<String, Object> object(String json) {
        return json == null ? null : MAPPER.readValue(json, OBJECT);
    }

    static String write(Object value) {
        return MAPPER.writeValueAsString(value);
    }
}
