package gg.starpets.security;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.http.client.SimpleClientHttpRequestFactory;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtAudienceValidator;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtDecoderInitializationException;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.JwtIssuerValidator;
import org.springframework.security.oauth2.jwt.JwtTypeValidator;
import org.springframework.security.oauth2.jwt.JwtValidators;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.jwt.SupplierJwtDecoder;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationConverter;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationProvider;
import org.springframework.web.client.RestTemplate;

/**
 * Access tokens of an OpenID Connect issuer (JWTs): signed by a key the issuer publishes, issued by
 * it, not expired, for our audience (required); the roles come from a configurable claim.
 */
final class OidcTokens {

    /** How long fetching the issuer's discovery document or keys may take before a request fails. */
    private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(5);

    private OidcTokens() {}

    static JwtAuthenticationProvider provider(SecuritySettings.Oidc oidc) {
        JwtAuthenticationProvider provider = new JwtAuthenticationProvider(decoder(oidc));
        JwtAuthenticationConverter converter = new JwtAuthenticationConverter();
        converter.setJwtGrantedAuthoritiesConverter(jwt -> authorities(jwt, oidc));
        converter.setPrincipalClaimName(oidc.nameClaim());
        provider.setJwtAuthenticationConverter(converter);
        return provider;
    }

    /**
     * The issuer is asked for its keys at the first token, not at start-up, so that an instance starts
     * (and serves everything else) while the issuer is unreachable; a failed attempt is retried.
     */
    private static JwtDecoder decoder(SecuritySettings.Oidc oidc) {
        JwtDecoder lazy = new SupplierJwtDecoder(() -> {
            SimpleClientHttpRequestFactory requests = new SimpleClientHttpRequestFactory();
            requests.setConnectTimeout(FETCH_TIMEOUT);
            requests.setReadTimeout(FETCH_TIMEOUT);
            NimbusJwtDecoder decoder = NimbusJwtDecoder.withIssuerLocation(oidc.issuerUri())
                    .restOperations(new RestTemplate(requests))
                    .build();
            List<OAuth2TokenValidator<Jwt>> checks = new ArrayList<>();
            // Plain JWTs and RFC 9068 access tokens ("at+jwt"), which many issuers send.
            JwtTypeValidator type = new JwtTypeValidator(List.of("JWT", "at+jwt"));
            type.setAllowEmpty(true);
            checks.add(type);
            checks.add(new JwtIssuerValidator(oidc.issuerUri()));
            // Required by the settings: a token the issuer made for another application is no key here.
            checks.add(new JwtAudienceValidator(oidc.audience()));
            decoder.setJwtValidator(JwtValidators.createDefaultWithValidators(checks));
            return decoder;
        });
        return token -> {
            try {
                return lazy.decode(token);
            } catch (JwtDecoderInitializationException e) {
                // A JwtException, as when the keys cannot be refreshed: 503, not a crash.
                throw new JwtException("The issuer's configuration or keys could not be fetched", e);
            }
        };
    }

    /** Every role the token's claim names: a token may be an operator and a balance client at once. */
    static Collection<GrantedAuthority> authorities(Jwt jwt, SecuritySettings.Oidc oidc) {
        Set<String> roles = roles(jwt.getClaims(), oidc.rolesClaim());
        Set<GrantedAuthority> grants = new LinkedHashSet<>();
        if (roles.contains(oidc.operatorRole())) {
            grants.addAll(Role.OPERATOR.grants());
        }
        if (roles.contains(oidc.viewerRole())) {
            grants.addAll(Role.VIEWER.grants());
        }
        if (roles.contains(oidc.balanceRole())) {
            grants.addAll(Role.BALANCE.grants());
        }
        return List.copyOf(grants);
    }

    /** The strings at a dotted claim path: a JSON array, or one string of names split by spaces or commas. */
    static Set<String> roles(Map<String, Object> claims, String path) {
        Object value = claims;
        for (String step : path.split("\\.")) {
            if (!(value instanceof Map<?, ?> map)) {
                return Set.of();
            }
            value = map.get(step);
        }
        Set<String> roles = new LinkedHashSet<>();
        if (value instanceof Collection<?> values) {
            values.forEach(v -> roles.add(String.valueOf(v)));
        } else if (value instanceof String text) {
            for (String role : text.split("[\\s,]+")) {
                if (!role.isEmpty()) {
                    roles.add(role);
                }
            }
        }
        return roles;
    }
}
