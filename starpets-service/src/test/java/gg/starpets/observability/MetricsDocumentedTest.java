package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every metric of MetricNames is explained once, in the one table of docs/observability.md. */
class MetricsDocumentedTest {

    private static final Path SOURCE =
            Path.of("starpets-spring-boot-starter/src/main/java/gg/starpets/observability/MetricNames.java");
    private static final Path TABLE = Path.of("docs/observability.md");

    /** A constant with its comment: the exposed name is the first {@code {@code name}} in it, else the value. */
    private static final Pattern CONSTANT = Pattern.compile(
            "/\\*\\*((?:(?!\\*/).)*)\\*/\\s*public static final String (\\w+) = \"([^\"]+)\";", Pattern.DOTALL);

    @Test
    void everyMetricNameIsARowOfTheObservabilityTableExactlyOnce() throws IOException {
        List<String> exposed = exposedNames();
        List<String> rows = new ArrayList<>();
        Matcher row = Pattern.compile("(?m)^\\| `([a-z_]+)` \\|").matcher(Files.readString(TABLE));
        while (row.find()) {
            rows.add(row.group(1));
        }

        assertThat(exposed).hasSize(constants());
        assertThat(rows).doesNotHaveDuplicates();
        assertThat(rows.stream()
                        .filter(r -> r.startsWith("starpets_") || r.startsWith("http_") || r.startsWith("app_")))
                .containsExactlyInAnyOrderElementsOf(exposed);
    }

    private static List<String> exposedNames() throws IOException {
        List<String> names = new ArrayList<>();
        Matcher m = CONSTANT.matcher(Files.readString(SOURCE));
        while (m.find()) {
            Matcher code = Pattern.compile("\\{@code ([a-z_]+)}").matcher(m.group(1));
            names.add(code.find() ? code.group(1) : m.group(3));
        }
        return names;
    }

    private static int constants() {
        int count = 0;
        for (Field f : MetricNames.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
                count++;
            }
        }
        return count;
    }
}
