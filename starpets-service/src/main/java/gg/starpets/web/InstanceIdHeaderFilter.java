package gg.starpets.web;

import gg.starpets.config.StarPetsProperties;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/** Puts {@code X-Instance-Id} on every response, set before anything can commit it (errors and 404s too). */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class InstanceIdHeaderFilter extends OncePerRequestFilter {

    static final String HEADER = "X-Instance-Id";

    private final String instanceId;

    InstanceIdHeaderFilter(StarPetsProperties properties) {
        this.instanceId = properties.resolvedInstanceId();
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        response.setHeader(HEADER, instanceId);
        chain.doFilter(request, response);
    }

    @Override
    protected boolean shouldNotFilterErrorDispatch() {
        return false;
    }
}
