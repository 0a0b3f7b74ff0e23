package gg.starpets.security;

import static gg.starpets.security.EndpointAccessTest.send;
import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.parallel.Isolated;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * What an instance writes to its log while tokens come and go in the Authorization header: never a token,
 * at any log level. (A token put in a URL is not accepted, and a URL is logged at DEBUG and by
 * proxies: docs/api.md says to never do that.)
 */
@Isolated("reads what the whole JVM prints, which a class running alongside would add to")
@ExtendWith(OutputCaptureExtension.class)
class TokensNotLoggedTest {

    private static final String OPERATOR = "operator-secret-for-log-test-1";
    private static final String VIEWER = "viewer-secret-for-log-test-22";
    private static final String BALANCE = "balance-secret-for-log-test-4";
    private static final String WRONG = "wrong-secret-for-log-test-333";

    @Test
    void noTokenOrSecretAppearsInTheLogEvenAtTraceLevel(CapturedOutput output) {
        try (LocalIssuer issuer = LocalIssuer.start()) {
            Map<String, Object> props = new HashMap<>();
            props.put("starpets.scheduler.enabled", "false");
            props.put("starpets.security.operator-tokens", "ci:" + OPERATOR);
            props.put("starpets.security.viewer-tokens", VIEWER);
            props.put("starpets.security.balance-tokens", BALANCE);
            props.put("starpets.security.oidc.issuer-uri", issuer.uri());
            props.put("starpets.security.oidc.audience", LocalIssuer.AUDIENCE);
            props.put("logging.level.org.springframework.security", "TRACE");
            props.put("logging.level.org.springframework.web", "DEBUG");
            props.put("logging.level.gg.starpets", "DEBUG");
            String jwt = issuer.token("alice", List.of("starpets-operator"));
            Instant past = Instant.now().minusSeconds(3600);
            String expiredJwt = issuer.token(
                    issuer.key(), c -> c.issueTime(Date.from(past)).expirationTime(Date.from(past.plusSeconds(60))));
            try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "instance-logs", props)) {
                for (String token : new String[] {OPERATOR, VIEWER, BALANCE, WRONG, jwt, expiredJwt}) {
                    send(app, "GET", "/tasks", null, token);
                    send(app, "POST", "/tasks/no-such-task/trigger", null, token);
                    send(app, "POST", "/balance/update", "{\"userId\":1,\"amount\":-1}", token);
                }
            }
            String log = output.getAll();
            // The capture saw the service's start and the security filters' most detailed lines.
            assertThat(log).contains("Access: 1 operator token(s), 1 viewer token(s), 1 balance token(s)");
            assertThat(log).contains("Set SecurityContextHolder to");
            for (String secret : new String[] {OPERATOR, VIEWER, BALANCE, WRONG, jwt, signature(jwt), expiredJwt}) {
                assertThat(log).doesNotContain(secret);
            }
            assertThat(log).doesNotContain("generated security password");
        }
    }

    @Test
    void withoutOperatorTokensEveryWriteIsRefusedAndTheStartSaysSo(CapturedOutput output) {
        Map<String, Object> props = new HashMap<>();
        props.put("starpets.scheduler.enabled", "false");
        props.put("starpets.security.operator-tokens", "");
        props.put("starpets.security.viewer-tokens", VIEWER);
        props.put("starpets.security.balance-tokens", "");
        try (AppInstance app = AppInstance.start(TestPostgres.createDatabase(), "instance-no-operator", props)) {
            assertThat(output.getAll())
                    .contains("No operator token and no OpenID Connect issuer: every change to tasks and runs")
                    .doesNotContain("tokens were generated");
            assertThat(send(app, "POST", "/tasks", "{}", null).statusCode()).isEqualTo(401);
            assertThat(send(app, "POST", "/runs/1/cancel", null, VIEWER).statusCode())
                    .isEqualTo(403);
            assertThat(send(app, "POST", "/tasks/x/trigger", null, "any-token-at-all-0000")
                            .statusCode())
                    .isEqualTo(401);
            assertThat(send(app, "GET", "/tasks", null, VIEWER).statusCode()).isEqualTo(200);
        }
    }

    private static String signature(String jwt) {
        return jwt.substring(jwt.lastIndexOf('.') + 1);
    }
}
