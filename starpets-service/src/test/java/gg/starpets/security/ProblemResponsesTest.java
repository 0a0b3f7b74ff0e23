package gg.starpets.security;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.security.authentication.AuthenticationServiceException;
import org.springframework.security.authentication.InsufficientAuthenticationException;
import org.springframework.security.oauth2.server.resource.InvalidBearerTokenException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ProblemResponsesTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final ProblemResponses responses = new ProblemResponses(JSON, new AccessPolicy(false));

    @Test
    void anIssuerThatCannotBeAskedIsARetryable503NotA401() throws Exception {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/tasks");
        MockHttpServletResponse response = new MockHttpServletResponse();
        responses.onAuthenticationFailure(
                request, response, new AuthenticationServiceException("Couldn't retrieve remote JWK set"));
        assertThat(response.getStatus()).isEqualTo(503);
        assertThat(response.getHeader("Retry-After")).isEqualTo("5");
        assertThat(response.getContentType()).startsWith("application/problem+json");
        JsonNode problem = JSON.readTree(response.getContentAsString());
        assertThat(problem.get("code").asString()).isEqualTo("authentication_unavailable");
        assertThat(problem.get("instance").asString()).isEqualTo("/tasks");
    }

    @Test
    void aRefusalIsWrittenWithTheFieldsAndOrderOfSpringMvcsProblems() throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();
        responses.commence(
                new MockHttpServletRequest("GET", "/tasks"),
                response,
                new InsufficientAuthenticationException("no token"));
        JsonNode problem = JSON.readTree(response.getContentAsString());
        assertThat(problem.propertyNames()).containsExactly("type", "title", "status", "detail", "instance", "code");
        assertThat(problem.get("type").asString()).isEqualTo("https://starpets.gg/problems/unauthorized");
        assertThat(response.getContentLength()).isEqualTo(response.getContentAsByteArray().length);
    }

    @Test
    void aRefusedTokenIsA401WithInvalidToken() throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();
        responses.onAuthenticationFailure(
                new MockHttpServletRequest("GET", "/tasks"), response, new InvalidBearerTokenException("expired"));
        assertThat(response.getStatus()).isEqualTo(401);
        assertThat(response.getHeader("WWW-Authenticate")).isEqualTo("Bearer error=\"invalid_token\"");
        assertThat(JSON.readTree(response.getContentAsString()).get("code").asString())
                .isEqualTo("unauthorized");
    }
}
