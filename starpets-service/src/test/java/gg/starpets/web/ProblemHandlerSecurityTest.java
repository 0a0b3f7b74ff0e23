package gg.starpets.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.context.support.StaticApplicationContext;
import org.springframework.http.HttpStatus;
import org.springframework.http.converter.json.JacksonJsonHttpMessageConverter;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.authentication.InsufficientAuthenticationException;
import org.springframework.web.servlet.ModelAndView;
import org.springframework.web.servlet.mvc.method.annotation.ExceptionHandlerExceptionResolver;

/**
 * Spring Security's exceptions pass through the problem handler (so that its filters answer 401 or
 * 403), while every other exception still becomes a problem.
 */
class ProblemHandlerSecurityTest {

    private final ExceptionHandlerExceptionResolver resolver = resolver();

    private static ExceptionHandlerExceptionResolver resolver() {
        StaticApplicationContext context = new StaticApplicationContext();
        context.registerSingleton("problemHandler", ProblemHandler.class);
        context.refresh();
        ExceptionHandlerExceptionResolver resolver = new ExceptionHandlerExceptionResolver();
        resolver.setMessageConverters(List.of(new JacksonJsonHttpMessageConverter()));
        resolver.setApplicationContext(context);
        resolver.afterPropertiesSet();
        return resolver;
    }

    private ModelAndView resolve(Exception e, MockHttpServletResponse response) {
        return resolver.resolveException(new MockHttpServletRequest("GET", "/tasks"), response, null, e);
    }

    @Test
    void accessDeniedAndAuthenticationExceptionsAreLeftToTheSecurityFilters() {
        MockHttpServletResponse response = new MockHttpServletResponse();
        assertThat(resolve(new AccessDeniedException("method security said no"), response))
                .isNull();
        assertThat(resolve(new InsufficientAuthenticationException("no token"), response))
                .isNull();
        assertThat(response.isCommitted()).isFalse();
    }

    @Test
    void otherExceptionsStillBecomeAnInternalErrorProblem() throws Exception {
        MockHttpServletResponse response = new MockHttpServletResponse();
        assertThat(resolve(new IllegalStateException("a bug"), response)).isNotNull();
        assertThat(response.getStatus()).isEqualTo(500);
        assertThat(response.getContentAsString()).contains("internal_error");
    }

    @Test
    void unauthorizedAndForbiddenHaveTheirOwnCodes() {
        assertThat(Problems.codeFor(HttpStatus.UNAUTHORIZED)).isEqualTo("unauthorized");
        assertThat(Problems.codeFor(HttpStatus.FORBIDDEN)).isEqualTo("forbidden");
    }
}
