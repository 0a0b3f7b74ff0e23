package gg.starpets.web;

import gg.starpets.StarPetsApplication;
import gg.starpets.scheduler.Backfills;
import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.NumberSchema;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.parameters.RequestBody;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import java.util.List;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The OpenAPI description at {@code /v3/api-docs} (Swagger UI at {@code /swagger-ui.html}): springdoc
 * derives the routes from the controllers; this adds what it cannot see — the problem-details
 * answer every route may give, the bodies of {@code POST /balance/update} and
 * {@code POST /tasks/{name}/runs}, which the controllers read by hand, and the text format of {@code /metrics}. docs/api.md is the prose version.
 */
@Configuration(proxyBeanMethods = false)
class ApiDescription {

    static final String PROBLEM = "Problem";

    @Bean
    OpenAPI starPetsOpenApi() {
        String version = StarPetsApplication.class.getPackage().getImplementationVersion();
        return new OpenAPI()
                .info(new Info()
                        .title("StarPets API")
                        .version(version == null ? "dev" : version)
                        .description("Recurring tasks on many instances coordinated through PostgreSQL, and a"
                                + " balance API. Every error is RFC 9457 problem details with a stable `code`;"
                                + " every response carries X-Instance-Id. The prose description is docs/api.md."));
    }

    @Bean
    OpenApiCustomizer problemsAndHandReadBodies() {
        return api -> {
            // Here rather than on the OpenAPI bean: springdoc replaces the bean's schemas with the ones it derives.
            if (api.getComponents() == null) {
                api.setComponents(new Components());
            }
            api.getComponents().addSchemas(PROBLEM, problemSchema());
            if (api.getPaths() == null) {
                return;
            }
            api.getPaths().forEach((path, item) -> item.readOperations().forEach(ApiDescription::problemAsDefault));
            var metrics = api.getPaths().get("/metrics");
            if (metrics != null && metrics.getGet() != null) {
                // The controller sets the Prometheus text format on the response itself.
                metrics.getGet()
                        .getResponses()
                        .addApiResponse(
                                "200",
                                new ApiResponse()
                                        .description("Prometheus text exposition 0.0.4")
                                        .content(new Content()
                                                .addMediaType(
                                                        "text/plain; version=0.0.4; charset=utf-8",
                                                        new MediaType().schema(new StringSchema()))));
            }
            describePost(
                    api,
                    "/tasks/{name}/runs",
                    "A one-off run of the task (docs/api.md): params merged over the task's and"
                            + " checked by its handler, at a time (default now); 201 with runId and Location."
                            + " The same Idempotency-Key answers the same run; another body under it is 422.",
                    oneOffRunBody());
            describePost(
                    api,
                    "/tasks/{name}/backfill",
                    "Runs the task once for each slot of its schedule in [from, to] (docs/api.md),"
                            + " oldest first, one at a time; at most 10,000 slots (400 too_many_slots);"
                            + " 201 with backfillId, slots and Location /backfills/{id}.",
                    backfillBody());
            var group = api.getPaths().get("/groups/{name}");
            if (group != null && group.getPut() != null) {
                group.getPut()
                        .description("Sets a concurrency group's limits across all instances (docs/api.md); a field"
                                + " absent or null: no such limit. 400 invalid_group writes nothing; 409"
                                + " group_from_configuration for a group of starpets.groups. Audited as group:<name>.")
                        .setRequestBody(groupBody());
            }
            var update = api.getPaths().get("/balance/update");
            if (update != null && update.getPost() != null) {
                update.getPost().setRequestBody(balanceUpdateBody());
            }
        };
    }

    /** A POST whose body the controller reads by hand: its description and body schema. */
    private static void describePost(OpenAPI api, String path, String description, RequestBody body) {
        var item = api.getPaths().get(path);
        if (item != null && item.getPost() != null) {
            item.getPost().description(description).setRequestBody(body);
        }
    }

    private static void problemAsDefault(Operation operation) {
        if (operation.getResponses() == null) {
            operation.setResponses(new ApiResponses());
        }
        operation
                .getResponses()
                .addApiResponse(
                        "default",
                        new ApiResponse()
                                .description("An error: problem details with a stable code (see docs/api.md)")
                                .content(new Content()
                                        .addMediaType(
                                                org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON_VALUE,
                                                new MediaType()
                                                        .schema(new Schema<>()
                                                                .$ref("#/components/schemas/" + PROBLEM)))));
    }

    private static Schema<?> problemSchema() {
        return new ObjectSchema()
                .description("RFC 9457 problem details")
                .addProperty("type", new StringSchema().format("uri"))
                .addProperty("title", new StringSchema())
                .addProperty("status", new IntegerSchema())
                .addProperty("detail", new StringSchema())
                .addProperty("instance", new StringSchema().format("uri-reference"))
                .addProperty(
                        "code",
                        new StringSchema().description("stable, machine-readable: task_not_found, unauthorized, …"))
                .required(List.of("type", "title", "status", "detail", "code"));
    }

    private static RequestBody oneOffRunBody() {
        Schema<?> body = new ObjectSchema()
                .addProperty(
                        "params",
                        new ObjectSchema().description("merged over the task's params (top-level keys replace)"))
                .addProperty(
                        "at",
                        new StringSchema()
                                .format("date-time")
                                .description("run at this time, not before (ISO-8601 with offset); default now"));
        return jsonBody(body, false);
    }

    private static RequestBody backfillBody() {
        Schema<?> body = new ObjectSchema()
                .addProperty("from", new StringSchema().format("date-time").description("first slot at or after"))
                .addProperty(
                        "to",
                        new StringSchema()
                                .format("date-time")
                                .description("last slot at or before; not later than now"))
                .addProperty(
                        "maxParallel",
                        new IntegerSchema()
                                .minimum(java.math.BigDecimal.ONE)
                                .maximum(java.math.BigDecimal.valueOf(Backfills.MAX_SLOTS))
                                .description("slots at once, default 1; above 1 only for a task with overlap ALLOW,"
                                        + " never more than its maxConcurrent"));
        body.setRequired(List.of("from", "to"));
        return jsonBody(body, true);
    }

    private static RequestBody groupBody() {
        Schema<?> body = new ObjectSchema()
                .addProperty(
                        "maxConcurrent",
                        new IntegerSchema()
                                .minimum(java.math.BigDecimal.ONE)
                                .nullable(true)
                                .description("the most runs of the group's tasks at once"))
                .addProperty(
                        "maxStarts",
                        new StringSchema()
                                .nullable(true)
                                .description("the most starts in any window: \"10/1m\" (window 1ms to 1d)"));
        return jsonBody(body, true);
    }

    private static RequestBody balanceUpdateBody() {
        Schema<?> body = new ObjectSchema()
                .addProperty("userId", new IntegerSchema().format("int64").minimum(java.math.BigDecimal.ONE))
                .addProperty(
                        "amount",
                        new NumberSchema()
                                .description("non-zero, at most two decimals, at most 1,000,000,000 either way;"
                                        + " positive tops up, negative withdraws"))
                .required(List.of("userId", "amount"));
        return jsonBody(body, true);
    }

    /** A JSON body of exactly these fields (no others). */
    private static RequestBody jsonBody(Schema<?> body, boolean required) {
        body.setAdditionalProperties(false);
        return new RequestBody()
                .required(required)
                .content(new Content()
                        .addMediaType(
                                org.springframework.http.MediaType.APPLICATION_JSON_VALUE,
                                new MediaType().schema(body)));
    }
}
