package gg.starpets.config;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * {@code LOG_FORMAT} ({@code starpets.log-format}) as people write it: empty or {@code text} for
 * readable lines, {@code json} for one JSON object per line (Logstash's field names), or one of
 * Spring Boot's structured formats by name. Applied before logging starts; an unknown value stops
 * the start with a message instead of a stack trace from the logging system.
 */
public final class LogFormat implements EnvironmentPostProcessor {

    static final String SETTING = "starpets.log-format";
    private static final String CONSOLE_FORMAT = "logging.structured.format.console";
    private static final Set<String> STRUCTURED = Set.of("logstash", "ecs", "gelf");

    /** Spring Boot's structured format for a {@code LOG_FORMAT} value; empty for readable text. */
    static String structuredFormat(String logFormat) {
        String value = logFormat == null ? "" : logFormat.strip().toLowerCase(Locale.ROOT);
        if (value.isEmpty() || value.equals("text")) {
            return "";
        }
        if (value.equals("json")) {
            return "logstash";
        }
        if (STRUCTURED.contains(value)) {
            return value;
        }
        throw new IllegalArgumentException(
                "LOG_FORMAT '" + logFormat.strip() + "' is not one of: text (the default), json, logstash, ecs, gelf");
    }

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        String format = structuredFormat(environment.getProperty(SETTING));
        if (!format.isEmpty()) {
            // Last: an explicit logging.structured.format.console still wins.
            environment.getPropertySources().addLast(new MapPropertySource(SETTING, Map.of(CONSOLE_FORMAT, format)));
        }
    }
}
