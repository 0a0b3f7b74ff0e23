package gg.starpets.security;

import static gg.starpets.security.EndpointAccessTest.send;
import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.parallel.Isolated;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * The README's first run: no token, no issuer, nothing set. The service is closed all the same, and the
 * tokens it generates (shown once, in its output) are what opens it: an operator's and a balance client's.
 */
@Isolated("reads what the whole JVM prints, which a class running alongside would add to")
@ExtendWith(OutputCaptureExtension.class)
class ClosedByDefaultTest {

    /** A generated token is base64url; the log line may be text or JSON (where a newline is written "\\n"). */
    private static final Pattern OPERATOR = Pattern.compile("operator token: ([A-Za-z0-9_-]{43})");

    private static final Pattern BALANCE = Pattern.compile("balance token: +([A-Za-z0-9_-]{43})");

    @Test
    void withNothingConfiguredOnlyHealthAndTheConsolesFilesAnswerAndTheGeneratedTokensOpenTheRest(
            CapturedOutput output) {
        Map<String, Object> nothing = new HashMap<>();
        nothing.put("starpets.scheduler.enabled", "false");
        nothing.put("starpets.security.operator-tokens", "");
        nothing.put("starpets.security.viewer-tokens", "");
        nothing.put("starpets.security.balance-tokens", "");
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "instance-first-run", nothing)) {
            String operator = generated(OPERATOR, output.getAll());
            String balance = generated(BALANCE, output.getAll());
            assertThat(operator).isNotEqualTo(balance);

            for (String path : new String[] {"/health", "/actuator/health/liveness", "/ui/", "/ui/app.js"}) {
                assertThat(send(app, "GET", path, null, null).statusCode())
                        .as(path)
                        .isEqualTo(200);
            }
            for (String path : new String[] {
                "/",
                "/tasks",
                "/runs",
                "/instances",
                "/metrics",
                "/v3/api-docs",
                "/ui/api/summaries",
                "/whoami",
                "/balance/1",
                "/balance/1/changes",
                "/tasks/x/events",
                "/swagger-ui/index.html"
            }) {
                EndpointAccessTest.assertDenied(send(app, "GET", path, null, null), 401, "unauthorized");
            }
            EndpointAccessTest.assertDenied(
                    send(app, "POST", "/balance/update", "{\"userId\":1,\"amount\":-2}", null), 401, "unauthorized");

            assertThat(send(app, "GET", "/tasks", null, operator).statusCode()).isEqualTo(200);
            assertThat(send(app, "GET", "/metrics", null, operator).statusCode())
                    .isEqualTo(200);
            assertThat(send(app, "POST", "/tasks/no-such-task/trigger", null, operator)
                            .statusCode())
                    .isEqualTo(404);
            assertThat(send(app, "POST", "/balance/update", "{\"userId\":1,\"amount\":-2}", balance)
                            .statusCode())
                    .isEqualTo(200);
            EndpointAccessTest.assertDenied(send(app, "GET", "/tasks", null, balance), 403, "forbidden");
            EndpointAccessTest.assertDenied(send(app, "GET", "/balance/1", null, operator), 403, "forbidden");

            // Shown once, and warned about; never again, whatever happens next.
            String log = output.getAll();
            assertThat(log.split(Pattern.quote(operator), -1)).hasSize(2);
            assertThat(log.split(Pattern.quote(balance), -1)).hasSize(2);
            assertThat(log).contains("tokens were generated for this start of this instance only");
        }
    }

    @Test
    void openingReadsIsExplicitAndWarnedAboutAndLeavesWritesAndTheBalanceApiClosed(CapturedOutput output) {
        Map<String, Object> props = new HashMap<>();
        props.put("starpets.scheduler.enabled", "false");
        props.put("starpets.security.public-reads", "true");
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "instance-public", props)) {
            assertThat(output.getAll()).contains("WARN").contains("STARPETS_PUBLIC_READS=true: tasks and their params");
            assertThat(send(app, "GET", "/tasks", null, null).statusCode()).isEqualTo(200);
            assertThat(send(app, "GET", "/metrics", null, null).statusCode()).isEqualTo(200);
            EndpointAccessTest.assertDenied(send(app, "POST", "/tasks", "{}", null), 401, "unauthorized");
            EndpointAccessTest.assertDenied(send(app, "GET", "/balance/1", null, null), 401, "unauthorized");
        }
    }

    private static String generated(Pattern pattern, String log) {
        Matcher m = pattern.matcher(log);
        assertThat(m.find()).as("the start shows a generated token: " + pattern).isTrue();
        return m.group(1);
    }
}
