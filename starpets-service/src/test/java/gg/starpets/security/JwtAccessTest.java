package gg.starpets.security;

import static gg.starpets.security.EndpointAccessTest.assertDenied;
import static gg.starpets.security.EndpointAccessTest.json;
import static gg.starpets.security.EndpointAccessTest.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.RSAKey;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Access tokens of an OpenID Connect issuer (a real one on 127.0.0.1, {@link LocalIssuer}), through
 * a real instance of the service: only a token the issuer signed, for us, and still valid, gets a role.
 */
class JwtAccessTest {

    private static LocalIssuer issuer;
    private static AppInstance app;

    @BeforeAll
    static void start() {
        issuer = LocalIssuer.start();
        app = AppInstance.start(
                TestPostgres.createDatabase(),
                "instance-jwt",
                Map.of(
                        "starpets.scheduler.enabled", "false",
                        "starpets.security.reads-require-token", "true",
                        "starpets.security.oidc.issuer-uri", issuer.uri(),
                        "starpets.security.oidc.audience", LocalIssuer.AUDIENCE,
                        "starpets.security.oidc.roles-claim", "realm_access.roles"));
    }

    @AfterAll
    static void stop() {
        app.close();
        issuer.close();
    }

    private static String token(RSAKey key, java.util.function.Consumer<com.nimbusds.jwt.JWTClaimsSet.Builder> claims) {
        return issuer.token(key, c -> {
            c.claim("realm_access", Map.of("roles", List.of("starpets-operator")));
            claims.accept(c);
        });
    }

    @Test
    void aTokenTheIssuerSignedForUsGivesTheRoleInTheConfiguredClaim() {
        String operator = token(issuer.key(), c -> {});
        assertThat(send(app, "GET", "/tasks", null, operator).statusCode()).isEqualTo(200);
        // An operator's write gets past security to the routing (no such task yet: anything but 401/403).
        assertThat(send(app, "POST", "/tasks/no-such-task/pause", null, operator)
                        .statusCode())
                .isNotIn(401, 403);
        String viewer =
                issuer.token(issuer.key(), c -> c.claim("realm_access", Map.of("roles", List.of("starpets-viewer"))));
        assertThat(send(app, "GET", "/tasks", null, viewer).statusCode()).isEqualTo(200);
        assertDenied(send(app, "POST", "/tasks/no-such-task/pause", null, viewer), 403, "forbidden");
        // The roles in the default claim name are not looked at with realm_access.roles configured.
        assertDenied(
                send(app, "GET", "/tasks", null, issuer.token("x", List.of("starpets-operator"))), 403, "forbidden");
    }

    @Test
    void aTokenSignedByAnotherKeyIsRefused() {
        RSAKey stranger = LocalIssuer.newKey(issuer.key().getKeyID()); // same key id, other key
        assertDenied(send(app, "GET", "/tasks", null, token(stranger, c -> {})), 401, "unauthorized");
    }

    @Test
    void anExpiredTokenIsRefused() {
        Instant past = Instant.now().minus(Duration.ofHours(1));
        String expired =
                token(issuer.key(), c -> c.issueTime(Date.from(past)).expirationTime(Date.from(past.plusSeconds(60))));
        assertDenied(send(app, "GET", "/tasks", null, expired), 401, "unauthorized");
    }

    @Test
    void aTokenFromAnotherIssuerOrForAnotherAudienceIsRefused() {
        assertDenied(
                send(app, "GET", "/tasks", null, token(issuer.key(), c -> c.issuer("http://127.0.0.1:1"))),
                401,
                "unauthorized");
        assertDenied(
                send(app, "GET", "/tasks", null, token(issuer.key(), c -> c.audience("another-service"))),
                401,
                "unauthorized");
    }

    @Test
    void whileTheIssuersKeysCannotBeFetchedATokenSignedByANewKeyGetsA503() {
        // A key the service has not seen makes it fetch the issuer's keys again.
        RSAKey rotated = LocalIssuer.newKey("issuer-key-rotated");
        issuer.keysAvailable(false);
        try {
            HttpResponse<String> response = send(app, "GET", "/tasks", null, token(rotated, c -> {}));
            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(json(response).get("code").asString()).isEqualTo("authentication_unavailable");
            assertThat(response.headers().firstValue("Retry-After")).isPresent();
        } finally {
            issuer.keysAvailable(true);
        }
        assertThat(send(app, "GET", "/tasks", null, token(issuer.key(), c -> {}))
                        .statusCode())
                .isEqualTo(200);
    }
}
