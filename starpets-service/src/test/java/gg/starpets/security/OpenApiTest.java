package gg.starpets.security;

import static gg.starpets.security.EndpointAccessTest.send;
import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.support.AppInstance;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The OpenAPI description generated from the controllers, and Swagger UI, on a real instance. */
class OpenApiTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static AppInstance app;

    @BeforeAll
    static void start() {
        app = AppInstance.start(
                TestPostgres.createDatabase(), "instance-openapi", Map.of("starpets.scheduler.enabled", "false"));
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static JsonNode description() {
        HttpResponse<String> response = app.get("/v3/api-docs");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        return JSON.readTree(response.body());
    }

    @Test
    void itIsOpenApi3AndListsEveryRoute() {
        JsonNode api = description();
        assertThat(api.get("openapi").asString()).startsWith("3.");
        assertThat(api.get("info").get("title").asString()).isEqualTo("StarPets API");
        List<String> paths = new ArrayList<>(api.get("paths").propertyNames());
        assertThat(paths)
                .contains(
                        "/",
                        "/health",
                        "/metrics",
                        "/instances",
                        "/tasks",
                        "/tasks/{name}",
                        "/tasks/{name}/runs",
                        "/tasks/{name}/backfill",
                        "/tasks/{name}/backfills",
                        "/backfills/{id}",
                        "/tasks/{name}/notifications",
                        "/runs",
                        "/runs/{id}",
                        "/balance/update",
                        "/balance/{userId}");
        JsonNode runs = api.get("paths").get("/runs").get("get");
        List<String> parameters = new ArrayList<>();
        runs.get("parameters").forEach(p -> parameters.add(p.get("name").asString()));
        assertThat(parameters).contains("status", "instanceId", "limit", "before");
    }

    @Test
    void itDeclaresTheBearerSchemeAndWhatEachRouteNeedsAsConfigured() {
        JsonNode api = description();
        JsonNode scheme = api.get("components").get("securitySchemes").get("bearer");
        assertThat(scheme.get("type").asString()).isEqualTo("http");
        assertThat(scheme.get("scheme").asString()).isEqualTo("bearer");

        JsonNode metrics = api.get("paths").get("/metrics").get("get");
        assertThat(metrics.get("x-starpets-access").asString()).isEqualTo("viewer");
        assertThat(metrics.get("security").get(0).has("bearer")).isTrue();
        assertThat(metrics.get("responses").has("401")).isTrue();
        assertThat(metrics.get("responses").get("200").get("content").propertyNames())
                .allSatisfy(type -> assertThat(type).startsWith("text/plain"));

        JsonNode health = api.get("paths").get("/health").get("get");
        assertThat(health.get("x-starpets-access").asString()).isEqualTo("open");
        assertThat(health.has("security")).isFalse();
        assertThat(access(api, "/tasks", "get")).isEqualTo("viewer");
        assertThat(access(api, "/tasks", "post")).isEqualTo("operator");
        assertThat(access(api, "/whoami", "get")).isEqualTo("any_role");
        assertThat(access(api, "/tasks/{name}/backfill", "post")).isEqualTo("operator");
        assertThat(access(api, "/backfills/{id}", "delete")).isEqualTo("operator");
        assertThat(access(api, "/backfills/{id}", "get")).isEqualTo("viewer");
        assertThat(api.get("paths")
                        .get("/tasks/{name}/backfill")
                        .get("post")
                        .get("requestBody")
                        .get("content")
                        .get("application/json")
                        .get("schema")
                        .get("required"))
                .extracting(JsonNode::asString)
                .containsExactly("from", "to");
        JsonNode update = api.get("paths").get("/balance/update").get("post");
        assertThat(update.get("x-starpets-access").asString()).isEqualTo("balance");
        assertThat(update.get("responses").get("403").get("description").asString())
                .contains("needs the balance role");
    }

    @Test
    void withPublicReadsTheDescriptionShowsReadsOpenAndTheRestAsBefore() {
        try (AppInstance open = AppInstance.start(
                TestPostgres.createDatabase(),
                "instance-openapi-public",
                Map.of("starpets.scheduler.enabled", "false", "starpets.security.public-reads", "true"))) {
            JsonNode api =
                    JSON.readTree(send(open, "GET", "/v3/api-docs", null, null).body());
            assertThat(access(api, "/tasks", "get")).isEqualTo("open");
            assertThat(access(api, "/metrics", "get")).isEqualTo("open");
            assertThat(access(api, "/tasks", "post")).isEqualTo("operator");
            assertThat(access(api, "/balance/{userId}", "get")).isEqualTo("balance");
        }
    }

    private static String access(JsonNode api, String path, String method) {
        return api.get("paths").get(path).get(method).get("x-starpets-access").asString();
    }

    @Test
    void errorsAreDescribedAsProblemDetailsAndTheHandReadBalanceBodyIsShown() {
        JsonNode api = description();
        JsonNode problem = api.get("components").get("schemas").get("Problem");
        assertThat(problem.get("properties").has("code")).isTrue();
        JsonNode error = api.get("paths")
                .get("/tasks/{name}")
                .get("get")
                .get("responses")
                .get("default");
        assertThat(error.get("content").has("application/problem+json")).isTrue();

        JsonNode body = api.get("paths").get("/balance/update").get("post").get("requestBody");
        JsonNode schema = body.get("content").get("application/json").get("schema");
        assertThat(schema.get("properties").propertyNames()).containsExactlyInAnyOrder("userId", "amount");
    }

    @Test
    void swaggerUiIsServed() {
        HttpResponse<String> page = app.get("/swagger-ui/index.html");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Swagger UI");
        HttpResponse<String> config = send(app, "GET", "/v3/api-docs/swagger-config", null, TestTokens.VIEWER);
        assertThat(config.statusCode()).isEqualTo(200);
        assertThat(config.body()).contains("/v3/api-docs");
    }
}
