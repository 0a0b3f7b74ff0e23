package gg.starpets.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.parallel.Isolated;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@Isolated("reads what the whole JVM prints, which a class running alongside would add to")
@ExtendWith(OutputCaptureExtension.class)
class LogFormatTest {

    @Test
    void textLogLinesCarryTheInstanceId(CapturedOutput output) {
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "instance-text-log", Map.of())) {
            assertThat(app.get("/health").statusCode()).isEqualTo(200);
        }
        assertThat(lines(output, "Scheduler started"))
                .singleElement()
                .asString()
                .contains("[instance-text-log]");
    }

    @Test
    void askedForJsonEveryLineIsOneJsonObjectWithTheInstanceId(CapturedOutput output) {
        // What LOG_FORMAT=json sets.
        try (AppInstance app = AppInstance.start(
                TestPostgres.createDatabase(), "instance-json-log", Map.of("starpets.log-format", "json"))) {
            assertThat(app.get("/health").statusCode()).isEqualTo(200);
        }
        List<String> started = lines(output, "Scheduler started");
        assertThat(started).hasSize(1);
        JsonNode line = JsonMapper.builder().build().readTree(started.getFirst());
        assertThat(line.get("instance_id").asString()).isEqualTo("instance-json-log");
        assertThat(line.get("message").asString()).startsWith("Scheduler started as instance instance-json-log");
        assertThat(line.get("level").asString()).isEqualTo("INFO");
    }

    @Test
    void logFormatNamesMapToSpringBootsStructuredFormats() {
        assertThat(LogFormat.structuredFormat(null)).isEmpty();
        assertThat(LogFormat.structuredFormat("")).isEmpty();
        assertThat(LogFormat.structuredFormat("text")).isEmpty();
        assertThat(LogFormat.structuredFormat("JSON")).isEqualTo("logstash");
        assertThat(LogFormat.structuredFormat("logstash")).isEqualTo("logstash");
        assertThat(LogFormat.structuredFormat(" ecs ")).isEqualTo("ecs");
        assertThat(LogFormat.structuredFormat("gelf")).isEqualTo("gelf");
    }

    @Test
    void anUnknownLogFormatStopsTheStartNamingTheAcceptedValues() {
        assertThatThrownBy(() -> AppInstance.start(
                        TestPostgres.createDatabase(), "instance-xml-log", Map.of("starpets.log-format", "xml")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("LOG_FORMAT 'xml' is not one of: text (the default), json, logstash, ecs, gelf");
    }

    private static List<String> lines(CapturedOutput output, String containing) {
        return Arrays.stream(output.getOut().split("\n"))
                .filter(l -> l.contains(containing))
                .toList();
    }
}
