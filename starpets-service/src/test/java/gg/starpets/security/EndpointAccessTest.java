package gg.starpets.security;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.security.Routes.Needs;
import gg.starpets.security.Routes.Route;
import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every route of {@link Routes} × every kind of caller, on two real instances of the service: one with
 * the shipped settings (closed: only tokens configured), one with {@code STARPETS_PUBLIC_READS=true} and
 * an OpenID Connect issuer. A route that does not exist yet still gets its security decision: 401/403
 * before routing, anything but 401/403 for a caller who may.
 */
class EndpointAccessTest {

    static final String OPERATOR_TOKEN = "operator-token-for-tests-0001";
    static final String VIEWER_TOKEN = "viewer-token-for-tests-00002";
    static final String BALANCE_TOKEN = "balance-token-for-tests-0003";

    private static final JsonMapper JSON = JsonMapper.builder().build();

    enum Caller {
        NONE,
        INVALID_TOKEN,
        VIEWER,
        OPERATOR,
        BALANCE,
        JWT_VIEWER,
        JWT_OPERATOR,
        JWT_BALANCE,
        JWT_WITHOUT_ROLE
    }

    private static LocalIssuer issuer;
    private static AppInstance closed;
    private static AppInstance publicReads;

    @BeforeAll
    static void start() {
        issuer = LocalIssuer.start();
        Map<String, Object> props = new HashMap<>();
        props.put("starpets.scheduler.enabled", "false");
        props.put("starpets.security.operator-tokens", OPERATOR_TOKEN);
        // The viewer's token only as its digest, as an operator would configure it.
        props.put(
                "starpets.security.viewer-tokens",
                "sha256:" + HexFormat.of().formatHex(StaticTokens.sha256(VIEWER_TOKEN)));
        props.put("starpets.security.balance-tokens", "shop:" + BALANCE_TOKEN);
        closed = AppInstance.start(TestPostgres.createDatabase(), "instance-closed", props);

        props.put("starpets.security.operator-tokens", "ci:" + OPERATOR_TOKEN + ",another-operator-token-x");
        props.put("starpets.security.viewer-tokens", "grafana:" + VIEWER_TOKEN);
        props.put("starpets.security.public-reads", "true");
        props.put("starpets.security.oidc.issuer-uri", issuer.uri());
        props.put("starpets.security.oidc.audience", LocalIssuer.AUDIENCE);
        publicReads = AppInstance.start(TestPostgres.createDatabase(), "instance-public-reads", props);
    }

    @AfterAll
    static void stop() {
        closed.close();
        publicReads.close();
        issuer.close();
    }

    static Stream<Arguments> closedCases() {
        return cases(List.of(Caller.NONE, Caller.INVALID_TOKEN, Caller.VIEWER, Caller.OPERATOR, Caller.BALANCE));
    }

    static Stream<Arguments> publicReadsCases() {
        return cases(List.of(Caller.values()));
    }

    private static Stream<Arguments> cases(List<Caller> callers) {
        return Routes.ALL.stream().flatMap(route -> callers.stream().map(caller -> Arguments.of(route, caller)));
    }

    @ParameterizedTest(name = "{0} as {1}")
    @MethodSource("closedCases")
    void withTheShippedSettings(Route route, Caller caller) {
        check(closed, route, route.byDefault(), caller);
    }

    @ParameterizedTest(name = "{0} as {1}")
    @MethodSource("publicReadsCases")
    void withPublicReadsAndAnIssuer(Route route, Caller caller) {
        check(publicReads, route, route.publicReads(), caller);
    }

    @Test
    void aJwtIsRefusedWhereNoIssuerIsConfigured() {
        String jwt = issuer.token("alice", List.of("starpets-operator"));
        assertDenied(send(closed, "GET", "/tasks", null, jwt), 401, "unauthorized");
    }

    @Test
    void aTokenInTheQueryStringOrAsBasicCredentialsCountsForNothing() {
        assertDenied(send(closed, "GET", "/tasks?access_token=" + OPERATOR_TOKEN, null, null), 401, "unauthorized");
        HttpResponse<String> basic = closed.send(HttpRequest.newBuilder(URI.create(closed.url("/tasks")))
                .header("Authorization", "Basic b3BlcmF0b3I6" + OPERATOR_TOKEN));
        assertDenied(basic, 401, "unauthorized");
        assertThat(basic.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
    }

    @Test
    void aRequestWithoutATokenIsToldToSendOneAndABadTokenThatItIsInvalid() {
        HttpResponse<String> none = send(closed, "GET", "/tasks", null, null);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
        assertThat(json(none).get("detail").asString()).contains("bearer token");
        HttpResponse<String> bad = send(closed, "GET", "/tasks", null, "wrong-token-for-tests-00003");
        assertThat(bad.headers().firstValue("WWW-Authenticate")).hasValue("Bearer error=\"invalid_token\"");
        assertThat(json(bad).get("detail").asString()).isEqualTo("The bearer token is not valid");
    }

    @Test
    void aForbiddenAnswerNamesTheRoleNeeded() {
        HttpResponse<String> response = send(closed, "POST", "/tasks", "{}", VIEWER_TOKEN);
        assertDenied(response, 403, "forbidden");
        assertThat(json(response).get("detail").asString()).isEqualTo("This request needs the operator role");
        assertThat(json(response).get("instance").asString()).isEqualTo("/tasks");
        assertThat(json(send(closed, "GET", "/balance/1", null, OPERATOR_TOKEN))
                        .get("detail")
                        .asString())
                .isEqualTo("This request needs the balance role");
        assertThat(json(send(closed, "GET", "/tasks", null, BALANCE_TOKEN))
                        .get("detail")
                        .asString())
                .isEqualTo("This request needs the viewer role");
    }

    @Test
    void aBrowserAtTheRootIsSentToTheConsoleWithoutATokenAndAnApiClientIsNot() {
        HttpResponse<String> browser = closed.send(HttpRequest.newBuilder(URI.create(closed.url("/")))
                .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"));
        assertThat(browser.statusCode()).isEqualTo(302);
        assertThat(browser.headers().firstValue("Location")).hasValue("/ui/");
        assertDenied(
                closed.send(HttpRequest.newBuilder(URI.create(closed.url("/"))).header("Accept", "application/json")),
                401,
                "unauthorized");
    }

    @Test
    void whoamiSaysWhatTheCallersTokenIsWorth() {
        assertThat(json(send(closed, "GET", "/whoami", null, BALANCE_TOKEN))
                        .get("role")
                        .asString())
                .isEqualTo("balance");
        assertThat(json(send(closed, "GET", "/whoami", null, VIEWER_TOKEN))
                        .get("role")
                        .asString())
                .isEqualTo("viewer");
        assertThat(json(send(closed, "GET", "/whoami", null, OPERATOR_TOKEN))
                        .get("role")
                        .asString())
                .isEqualTo("operator");
        assertThat(json(send(publicReads, "GET", "/whoami", null, null))
                        .get("role")
                        .asString())
                .isEqualTo("anonymous");
    }

    @Test
    void noSessionIsCreatedAndNoCookieSet() {
        for (String token : new String[] {null, VIEWER_TOKEN, OPERATOR_TOKEN}) {
            HttpResponse<String> response = send(closed, "GET", "/tasks", null, token);
            assertThat(response.headers().allValues("Set-Cookie")).isEmpty();
        }
        assertThat(send(closed, "POST", "/balance/update", "{\"userId\":1,\"amount\":1}", BALANCE_TOKEN)
                        .headers()
                        .allValues("Set-Cookie"))
                .isEmpty();
    }

    @Test
    void theSecurityFiltersAddNoMetricsOfTheirOwnAndRefusalsAreCounted() {
        send(closed, "POST", "/tasks", "{}", null);
        String metrics = send(closed, "GET", "/metrics", null, VIEWER_TOKEN).body();
        assertThat(metrics).doesNotContain("spring_security");
        assertThat(metrics).containsPattern("http_requests_total\\{[^}]*method=\"POST\"[^}]*status=\"401\"}");
    }

    @Test
    void aUrlTheFirewallRefusesIsAProblemToo() {
        HttpResponse<String> response = send(closed, "GET", "/tasks;jsessionid=1", null, null);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json(response).get("code").asString()).isEqualTo("invalid_request");
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
    }

    @Test
    void theProtectedResourceMetadataIsOpenAndNamesTheIssuerAndNoCertificateBinding() {
        // RFC 9728: how to get a token is public by design; it holds no data of the service.
        assertThat(send(closed, "GET", "/.well-known/oauth-protected-resource", null, null)
                        .statusCode())
                .isEqualTo(200);
        JsonNode metadata = json(send(publicReads, "GET", "/.well-known/oauth-protected-resource", null, null));
        assertThat(metadata.get("authorization_servers").get(0).asString()).isEqualTo(issuer.uri());
        assertThat(metadata.get("tls_client_certificate_bound_access_tokens").asBoolean())
                .isFalse();
        assertThat(metadata.get("bearer_methods_supported").get(0).asString()).isEqualTo("header");
    }

    private static void check(AppInstance app, Route route, Needs needs, Caller caller) {
        HttpResponse<String> response = send(app, route.method(), route.path(), route.body(), token(caller));
        switch (expected(needs, caller)) {
            case 401 -> assertDenied(response, 401, "unauthorized");
            case 403 -> assertDenied(response, 403, "forbidden");
            default ->
                assertThat(response.statusCode())
                        .as("%s as %s: %s", route, caller, response.body())
                        .isNotIn(401, 403)
                        .isLessThan(500);
        }
    }

    /** 401, 403, or 0 for "let through". */
    private static int expected(Needs needs, Caller caller) {
        if (needs == Needs.NOTHING_EVER) {
            return 0;
        }
        if (caller == Caller.INVALID_TOKEN) {
            return 401;
        }
        if (caller == Caller.NONE) {
            return needs == Needs.NOTHING ? 0 : 401;
        }
        return switch (needs) {
            case NOTHING, NOTHING_EVER -> 0;
            case ANY_ROLE -> caller == Caller.JWT_WITHOUT_ROLE ? 403 : 0;
            case VIEWER ->
                switch (caller) {
                    case VIEWER, OPERATOR, JWT_VIEWER, JWT_OPERATOR -> 0;
                    default -> 403;
                };
            case OPERATOR ->
                switch (caller) {
                    case OPERATOR, JWT_OPERATOR -> 0;
                    default -> 403;
                };
            case BALANCE ->
                switch (caller) {
                    case BALANCE, JWT_BALANCE -> 0;
                    default -> 403;
                };
        };
    }

    private static String token(Caller caller) {
        return switch (caller) {
            case NONE -> null;
            case INVALID_TOKEN -> "not-a-token-anyone-knows-42";
            case VIEWER -> VIEWER_TOKEN;
            case OPERATOR -> OPERATOR_TOKEN;
            case BALANCE -> BALANCE_TOKEN;
            case JWT_VIEWER -> issuer.token("vera", List.of("starpets-viewer"));
            case JWT_BALANCE -> issuer.token("bill", List.of("starpets-balance"));
            case JWT_OPERATOR -> issuer.token("otto", List.of("starpets-operator", "someone-else"));
            case JWT_WITHOUT_ROLE -> issuer.token("nemo", List.of("other-app-admin"));
        };
    }

    static HttpResponse<String> send(AppInstance app, String method, String path, String body, String token) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(app.url(path)))
                .method(method, body == null ? BodyPublishers.noBody() : BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return app.send(request);
    }

    static void assertDenied(HttpResponse<String> response, int status, String code) {
        String what = response.request().method() + " " + response.uri();
        assertThat(response.statusCode()).as(what).isEqualTo(status);
        assertThat(response.headers().firstValue("X-Instance-Id")).as(what).isPresent();
        if (status == 401) {
            assertThat(response.headers().firstValue("WWW-Authenticate"))
                    .as(what)
                    .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        }
        if (response.request().method().equals("HEAD")) {
            return; // no body to a HEAD
        }
        assertThat(response.headers().firstValue("Content-Type"))
                .as(what)
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/problem+json"));
        JsonNode problem = json(response);
        assertThat(problem.get("code").asString()).as(what).isEqualTo(code);
        assertThat(problem.get("status").asInt()).as(what).isEqualTo(status);
        assertThat(problem.get("type").asString()).as(what).isEqualTo("https://starpets.gg/problems/" + code);
        assertThat(problem.hasNonNull("title") && problem.hasNonNull("detail"))
                .as(what)
                .isTrue();
    }

    static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }
}
