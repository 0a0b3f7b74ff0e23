package gg.starpets.security;

import jakarta.servlet.DispatcherType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.authentication.AuthenticationManager;
import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.authorization.AuthorityAuthorizationManager;
import org.springframework.security.authorization.AuthorizationDecision;
import org.springframework.security.authorization.AuthorizationManager;
import org.springframework.security.authorization.AuthorizationResult;
import org.springframework.security.config.ObjectPostProcessor;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.core.Authentication;
import org.springframework.security.oauth2.server.resource.web.DefaultBearerTokenResolver;
import org.springframework.security.oauth2.server.resource.web.authentication.BearerTokenAuthenticationFilter;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.intercept.RequestAuthorizationContext;
import tools.jackson.databind.json.JsonMapper;

/**
 * Who may do what: bearer tokens (from configuration, or an OpenID Connect issuer's JWTs) give the
 * viewer or operator role, and {@link AccessPolicy} says which role each request needs. Stateless:
 * no session, no cookie, no login form, no HTTP Basic.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(SecuritySettings.class)
class SecurityConfig {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfig.class);

    @Bean
    AccessPolicy accessPolicy(SecuritySettings settings) {
        return AccessPolicy.of(settings);
    }

    /**
     * No observations of Spring Security's own: they would time each of its filters on every request
     * and add spring_security_* series that are not in MetricNames; HttpMetricsFilter already counts
     * and times every request, 401s included.
     */
    @Bean
    SecurityObservationSettings securityObservationSettings() {
        return SecurityObservationSettings.noObservations();
    }

    /** Also the firewall's {@code RequestRejectedHandler}: Spring Security picks that bean up by its type. */
    @Bean
    ProblemResponses securityProblems(JsonMapper json, AccessPolicy policy) {
        return new ProblemResponses(json, policy);
    }

    @Bean
    SecurityFilterChain securityFilterChain(
            HttpSecurity http, SecuritySettings settings, AccessPolicy policy, ProblemResponses problems) {
        StaticTokens tokens = tokens(settings);
        AuthenticationManager authentication = authenticationManager(settings, tokens);
        DefaultBearerTokenResolver headerOnly = new DefaultBearerTokenResolver(); // never a query parameter
        http.authorizeHttpRequests(requests -> requests
                        // An error dispatch or forward serves a request that was already let through.
                        .dispatcherTypeMatchers(DispatcherType.ERROR, DispatcherType.FORWARD)
                        .permitAll()
                        .anyRequest()
                        .access(byPolicy(policy)))
                .oauth2ResourceServer(bearer -> bearer.authenticationManagerResolver(request -> authentication)
                        .bearerTokenResolver(request -> AccessPolicy.alwaysOpen(AccessPolicy.path(request))
                                ? null
                                : headerOnly.resolve(request))
                        .authenticationEntryPoint(problems)
                        .accessDeniedHandler(problems)
                        // RFC 9728 metadata at /.well-known/oauth-protected-resource, told the truth.
                        .protectedResourceMetadata(metadata -> metadata.protectedResourceMetadataCustomizer(m -> {
                            m.tlsClientCertificateBoundAccessTokens(false);
                            if (settings.oidc().enabled()) {
                                m.authorizationServer(settings.oidc().issuerUri());
                            }
                        }))
                        .withObjectPostProcessor(new ObjectPostProcessor<BearerTokenAuthenticationFilter>() {
                            @Override
                            public <O extends BearerTokenAuthenticationFilter> O postProcess(O filter) {
                                filter.setAuthenticationFailureHandler(problems);
                                return filter;
                            }
                        }))
                .exceptionHandling(
                        errors -> errors.authenticationEntryPoint(problems).accessDeniedHandler(problems))
                .sessionManagement(sessions -> sessions.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                // CSRF forges a request that the browser sends with the victim's cookie or Basic
                // credentials. Here the only credential is the Authorization header, which a browser
                // never adds by itself to a cross-site request, and there is no session or cookie.
                .csrf(AbstractHttpConfigurer::disable)
                .httpBasic(AbstractHttpConfigurer::disable)
                .formLogin(AbstractHttpConfigurer::disable)
                .logout(AbstractHttpConfigurer::disable)
                .requestCache(AbstractHttpConfigurer::disable);
        return http.build();
    }

    /** Configured tokens first, then (when an issuer is set) the issuer's JWTs: the first that accepts wins. */
    private static AuthenticationManager authenticationManager(SecuritySettings settings, StaticTokens tokens) {
        List<AuthenticationProvider> providers = new ArrayList<>();
        providers.add(tokens);
        if (settings.oidc().enabled()) {
            providers.add(OidcTokens.provider(settings.oidc()));
        }
        return new ProviderManager(providers);
    }

    private static AuthorizationManager<RequestAuthorizationContext> byPolicy(AccessPolicy policy) {
        AuthorizationManager<RequestAuthorizationContext> viewer =
                AuthorityAuthorizationManager.hasAuthority(Role.VIEWER.authority());
        AuthorizationManager<RequestAuthorizationContext> operator =
                AuthorityAuthorizationManager.hasAuthority(Role.OPERATOR.authority());
        AuthorizationManager<RequestAuthorizationContext> balance =
                AuthorityAuthorizationManager.hasAuthority(Role.BALANCE.authority());
        AuthorizationManager<RequestAuthorizationContext> anyRole = AuthorityAuthorizationManager.hasAnyAuthority(
                Role.VIEWER.authority(), Role.OPERATOR.authority(), Role.BALANCE.authority());
        return new AuthorizationManager<>() {
            @Override
            public AuthorizationResult authorize(
                    Supplier<? extends Authentication> authentication, RequestAuthorizationContext context) {
                return switch (policy.required(context.getRequest())) {
                    case OPEN -> new AuthorizationDecision(true);
                    case ANY_ROLE -> anyRole.authorize(authentication, context);
                    case VIEWER -> viewer.authorize(authentication, context);
                    case OPERATOR -> operator.authorize(authentication, context);
                    case BALANCE -> balance.authorize(authentication, context);
                };
            }
        };
    }

    /**
     * The configured tokens; with nothing configured at all, an operator and a balance token generated
     * for this start and shown once, as Spring Security shows the password it generates: the first
     * run needs no setting, and is still closed to anyone who cannot read this instance's output.
     */
    private static StaticTokens tokens(SecuritySettings settings) {
        if (!settings.nothingConfigured()) {
            StaticTokens tokens = StaticTokens.of(settings);
            logAccess(settings, tokens);
            return tokens;
        }
        StaticTokens.Generated generated = StaticTokens.generate();
        logAccess(settings, generated.tokens());
        log.warn(
                "No token and no OpenID Connect issuer is configured: tokens were generated for this start of this"
                        + " instance only (never stored, never shown again; for development, not production):\n"
                        + "\n    operator token: {}\n    balance token:  {}\n\n"
                        + "Send one as 'Authorization: Bearer <token>'. Set STARPETS_OPERATOR_TOKENS,"
                        + " STARPETS_VIEWER_TOKENS and STARPETS_BALANCE_TOKENS to choose your own.",
                generated.clear().get(Role.OPERATOR),
                generated.clear().get(Role.BALANCE));
        return generated.tokens();
    }

    /** One line on what is open and how many tokens exist, never the tokens themselves. */
    private static void logAccess(SecuritySettings settings, StaticTokens tokens) {
        log.info(
                "Access: {} operator token(s), {} viewer token(s), {} balance token(s), OpenID Connect {}; reads {}",
                tokens.count(Role.OPERATOR),
                tokens.count(Role.VIEWER),
                tokens.count(Role.BALANCE),
                settings.oidc().enabled() ? "issuer " + settings.oidc().issuerUri() : "off",
                settings.publicReads() ? "open to anyone" : "need a token");
        if (tokens.count(Role.OPERATOR) == 0 && !settings.oidc().enabled()) {
            log.warn("No operator token and no OpenID Connect issuer: every change to tasks and runs"
                    + " (POST/PUT/PATCH/DELETE) is refused with 401. Set STARPETS_OPERATOR_TOKENS to allow them.");
        }
        if (settings.publicReads()) {
            log.warn("STARPETS_PUBLIC_READS=true: tasks and their params, runs and their output, the audit trail,"
                    + " instances, /metrics and the API description answer anyone without a token. Only where"
                    + " every client of this network may read all of that.");
        }
    }
}
