package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Which variables tasks may read, where a bound one may go, and what is taken out of a run's output. */
class TaskSecretsTest {

    private static final Map<String, String> ENV = Map.of(
            "PARTNER_TOKEN", "pt-0123456789",
            "SLACK_HOOK", "https://hooks.example/T0/B0/x+y&z=\"q\"",
            "SHORT", "abc",
            "STARPETS_OPERATOR_TOKENS", "ci:ci-token-0123456789abcdef,sha256:" + "ab".repeat(32),
            "REPORTING_DB_PASSWORD", "reporting-pw-42",
            "AWS_SECRET_ACCESS_KEY", "aws/secret/key/value",
            "HOME", "/home/starpets");

    private static TaskSecrets secrets(String... entries) {
        return TaskSecrets.parse(List.of(entries), () -> ENV);
    }

    @Test
    void aSecretIsReadOnlyIfNamedAndNeverOneOfTheServicesSettings() {
        TaskSecrets secrets = secrets("PARTNER_TOKEN", "SHORT");

        assertThat(secrets.value("url", "PARTNER_TOKEN", false)).isEqualTo("pt-0123456789");
        assertThatThrownBy(() -> secrets.value("url", "HOME", false))
                .hasMessage("param 'url' uses ${HOME}, which STARPETS_TASK_SECRETS does not name: tasks may read only"
                        + " the variables it names");
        assertThatThrownBy(() -> secrets.value("url", "STARPETS_OPERATOR_TOKENS", true))
                .hasMessageEndingWith(
                        "the service's own settings (DB_*, STARPETS_*, SPRING_*…) are never given to tasks");
    }

    @Test
    void namingOneOfTheServicesSettingsOrAMalformedEntryStopsTheStart() {
        for (String entry : List.of(
                "DB_PASSWORD",
                "STARPETS_OPERATOR_TOKENS",
                "spring_datasource_password",
                "PGPASSWORD",
                "JAVA_TOOL_OPTIONS",
                "API_ALLOWED_OPERATOR_HANDLERS")) {
            assertThatThrownBy(() -> secrets(entry))
                    .as(entry)
                    .hasMessage("STARPETS_TASK_SECRETS names " + entry
                            + ", one of the service's own settings: those are never given to tasks");
        }
        assertThatThrownBy(() -> secrets("1TOKEN"))
                .hasMessageStartingWith("STARPETS_TASK_SECRETS: '1TOKEN' is not NAME");
        assertThatThrownBy(() -> secrets("TOKEN@"))
                .hasMessageStartingWith("STARPETS_TASK_SECRETS, TOKEN: '' is not a host");
        assertThatThrownBy(() -> secrets("TOKEN@a host")).hasMessageContaining("is not a host");
        assertThatThrownBy(() -> secrets("TOKEN@api.example:99999")).hasMessageContaining("the port must be 1-65535");
        assertThatThrownBy(() -> secrets("TOKEN", "TOKEN@api.example"))
                .hasMessage("STARPETS_TASK_SECRETS names TOKEN twice");
    }

    /** Every variable application.yml reads: a task must never read one, however STARPETS_TASK_SECRETS is set. */
    @Test
    void everyVariableTheServiceReadsIsOneOfItsOwnSettings() throws IOException {
        String yaml;
        try (InputStream in = getClass().getResourceAsStream("/application.yml")) {
            yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .lines()
                    .filter(line -> !line.strip().startsWith("#"))
                    .collect(Collectors.joining("\n"));
        }
        List<String> read = new ArrayList<>();
        Matcher m = Pattern.compile("\\$\\{([A-Z_][A-Z0-9_]*)[:}]").matcher(yaml);
        while (m.find()) {
            read.add(m.group(1));
        }

        assertThat(read).contains("DB_PASSWORD", "STARPETS_OPERATOR_TOKENS", "PORT", "OTEL_EXPORTER_OTLP_ENDPOINT");
        assertThat(TaskSecrets.serviceSetting("OTEL_EXPORTER_OTLP_HEADERS")).isTrue();
        assertThat(read).allMatch(TaskSecrets::serviceSetting);
        assertThat(List.of("PARTNER_TOKEN", "API_KEY", "GITHUB_TOKEN", "EXPORT_TOKEN", "HOME"))
                .noneMatch(TaskSecrets::serviceSetting);
    }

    @Test
    void aBoundSecretGoesOnlyToItsHostsAndOnlyWhereTheDestinationIsChecked() {
        TaskSecrets secrets = secrets("PARTNER_TOKEN@api.partner.example|*.partner.example:8443", "SHORT");
        List<String> used = List.of("PARTNER_TOKEN", "SHORT");

        assertThat(secrets.refusalToSend(used, "api.partner.example", 443)).isNull();
        assertThat(secrets.refusalToSend(used, "API.Partner.Example.", 80)).isNull();
        assertThat(secrets.refusalToSend(used, "eu.partner.example", 8443)).isNull();
        assertThat(secrets.refusalToSend(used, "eu.partner.example", 443))
                .isEqualTo("${PARTNER_TOKEN} may be sent only to api.partner.example|*.partner.example:8443"
                        + " (STARPETS_TASK_SECRETS), not to eu.partner.example:443");
        assertThat(secrets.refusalToSend(used, "partner.example", 8443)).isNotNull();
        assertThat(secrets.refusalToSend(used, "api.partner.example.evil.example", 443))
                .isNotNull();
        assertThat(secrets.refusalToSend(List.of("SHORT"), "anywhere.example", 443))
                .isNull();
        assertThat(secrets.value("headers.Authorization", "PARTNER_TOKEN", true))
                .isEqualTo("pt-0123456789");
        assertThatThrownBy(() -> secrets.value("env.TOKEN", "PARTNER_TOKEN", false))
                .hasMessageEndingWith("only http tasks, whose destination is checked, may use it");
    }

    @Test
    void redactionTakesOutTaskSecretsAndTheValuesOfVariablesNamedAsSecretsInEveryCommonForm() {
        TaskSecrets secrets = secrets("PARTNER_TOKEN", "SLACK_HOOK", "SHORT");

        assertThat(secrets.redact("Authorization: Bearer pt-0123456789 (again: pt-0123456789)"))
                .isEqualTo("Authorization: Bearer [redacted PARTNER_TOKEN] (again: [redacted PARTNER_TOKEN])");
        assertThat(secrets.redact("url=https%3A%2F%2Fhooks.example%2FT0%2FB0%2Fx%2By%26z%3D%22q%22"))
                .isEqualTo("url=[redacted SLACK_HOOK]");
        assertThat(secrets.redact("{\"hook\":\"https://hooks.example/T0/B0/x+y&z=\\\"q\\\"\"}"))
                .isEqualTo("{\"hook\":\"[redacted SLACK_HOOK]\"}");
        // The service's own secrets, and any other variable whose name says it holds one: each token of a list.
        assertThat(secrets.redact("tokens ci-token-0123456789abcdef reporting-pw-42 aws/secret/key/value"))
                .isEqualTo("tokens [redacted STARPETS_OPERATOR_TOKENS] [redacted REPORTING_DB_PASSWORD]"
                        + " [redacted AWS_SECRET_ACCESS_KEY]");
        // Too short to guard anything, and no secret at all.
        assertThat(secrets.redact("abc at /home/starpets")).isEqualTo("abc at /home/starpets");
    }

    @Test
    void aSecretCutInTwoAtAnEdgeOfTheKeptTextIsTakenOut() {
        TaskSecrets secrets = secrets("PARTNER_TOKEN");

        assertThat(secrets.redact("…the end: pt-0123", false, true)).isEqualTo("…the end: [redacted PARTNER_TOKEN]");
        assertThat(secrets.redact("3456789 and then", true, false)).isEqualTo("[redacted PARTNER_TOKEN] and then");
        // Not cut there: text that merely looks like a part stays.
        assertThat(secrets.redact("…the end: pt-0123", false, false)).isEqualTo("…the end: pt-0123");
    }
}
