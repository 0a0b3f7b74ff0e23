package gg.starpets.security;

import gg.starpets.security.AccessPolicy.Access;
import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import java.util.Locale;
import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springframework.stereotype.Component;

/**
 * Shows in the OpenAPI description what {@link AccessPolicy} enforces, as configured on this instance:
 * the bearer scheme, and on each operation whether it needs a token ({@code security}, 401, 403) and
 * which role ({@code x-starpets-access}: open, viewer or operator).
 */
@Component
class OpenApiSecurity implements OpenApiCustomizer {

    static final String SCHEME = "bearer";
    static final String ACCESS_EXTENSION = "x-starpets-access";
    private static final String PROBLEM = "#/components/schemas/Problem";

    private final AccessPolicy policy;

    OpenApiSecurity(AccessPolicy policy) {
        this.policy = policy;
    }

    @Override
    public void customise(OpenAPI api) {
        if (api.getComponents() == null) {
            api.setComponents(new Components());
        }
        api.getComponents()
                .addSecuritySchemes(
                        SCHEME,
                        new SecurityScheme()
                                .type(SecurityScheme.Type.HTTP)
                                .scheme("bearer")
                                .description("A token from STARPETS_OPERATOR_TOKENS, STARPETS_VIEWER_TOKENS or"
                                        + " STARPETS_BALANCE_TOKENS,"
                                        + " or an access token (JWT) of the configured OpenID Connect issuer"));
        if (api.getPaths() == null) {
            return;
        }
        api.getPaths()
                .forEach((path, item) -> item.readOperationsMap().forEach((method, operation) -> {
                    describe(operation, policy.required(method.name(), path));
                }));
    }

    private static void describe(Operation operation, Access access) {
        operation.addExtension(ACCESS_EXTENSION, access.name().toLowerCase(Locale.ROOT));
        if (access == Access.OPEN) {
            return;
        }
        operation.addSecurityItem(new SecurityRequirement().addList(SCHEME));
        if (operation.getResponses() == null) {
            operation.setResponses(new ApiResponses());
        }
        operation
                .getResponses()
                .addApiResponse("401", problem("No bearer token, or one that is not valid (code unauthorized)"));
        operation
                .getResponses()
                .addApiResponse(
                        "403",
                        problem("The token's role may not do this; needs " + access.needed() + " (code forbidden)"));
    }

    private static ApiResponse problem(String description) {
        return new ApiResponse()
                .description(description)
                .content(new Content()
                        .addMediaType(
                                org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON_VALUE,
                                new MediaType().schema(new Schema<>().$ref(PROBLEM))));
    }
}
