package gg.starpets.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.security.authentication.AuthenticationServiceException;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.server.resource.authentication.BearerTokenAuthenticationToken;

class OidcTokensTest {

    private static SecuritySettings.Oidc oidc(String rolesClaim) {
        return new SecuritySettings.Oidc("http://127.0.0.1:1", "starpets", rolesClaim, null, null, null, null);
    }

    private static List<String> authorities(Map<String, Object> claims, String rolesClaim) {
        Jwt.Builder jwt = Jwt.withTokenValue("t").header("alg", "RS256").issuedAt(Instant.now());
        claims.forEach(jwt::claim);
        return OidcTokens.authorities(jwt.build(), oidc(rolesClaim)).stream()
                .map(GrantedAuthority::getAuthority)
                .toList();
    }

    @Test
    void theDefaultsReadTheRolesClaimForStarpetsOperatorAndViewer() {
        SecuritySettings.Oidc defaults = oidc(null);
        assertThat(defaults.rolesClaim()).isEqualTo("roles");
        assertThat(defaults.operatorRole()).isEqualTo("starpets-operator");
        assertThat(defaults.viewerRole()).isEqualTo("starpets-viewer");
        assertThat(defaults.balanceRole()).isEqualTo("starpets-balance");
        assertThat(defaults.nameClaim()).isEqualTo("sub");
        assertThat(authorities(Map.of("roles", List.of("a", "starpets-operator")), "roles"))
                .containsExactlyInAnyOrder("ROLE_OPERATOR", "ROLE_VIEWER");
        assertThat(authorities(Map.of("roles", List.of("starpets-viewer")), "roles"))
                .containsExactly("ROLE_VIEWER");
        assertThat(authorities(Map.of("roles", List.of("admin")), "roles")).isEmpty();
        assertThat(authorities(Map.of("other", List.of("starpets-operator")), "roles"))
                .isEmpty();
    }

    @Test
    void theBalanceRoleIsAnAuthorityOfItsOwnBesideWhateverElseTheTokenHolds() {
        assertThat(authorities(Map.of("roles", List.of("starpets-balance")), "roles"))
                .containsExactly("ROLE_BALANCE");
        assertThat(authorities(Map.of("roles", List.of("starpets-balance", "starpets-viewer")), "roles"))
                .containsExactlyInAnyOrder("ROLE_BALANCE", "ROLE_VIEWER");
    }

    @Test
    void anIssuerWithoutAnAudienceStopsTheStart() {
        assertThatThrownBy(() -> new SecuritySettings.Oidc("https://issuer.example", " ", null, null, null, null, null))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("STARPETS_OIDC_AUDIENCE")
                .hasMessageContaining("required");
        // Without an issuer there is nothing to check.
        assertThat(new SecuritySettings.Oidc(null, null, null, null, null, null, null).enabled())
                .isFalse();
    }

    @Test
    void aNestedClaimIsADottedPathAndAStringClaimIsSplitOnSpacesAndCommas() {
        Map<String, Object> keycloak = Map.of("realm_access", Map.of("roles", List.of("starpets-viewer")));
        assertThat(authorities(keycloak, "realm_access.roles")).containsExactly("ROLE_VIEWER");
        assertThat(authorities(Map.of("scope", "openid starpets-operator,email"), "scope"))
                .contains("ROLE_OPERATOR");
        assertThat(OidcTokens.roles(Map.of("a", "not-a-map"), "a.b")).isEmpty();
    }

    @Test
    void anIssuerThatCannotBeReachedAtTheFirstTokenIsAServiceFailureNotACrashNorABadToken() {
        try (LocalIssuer elsewhere = LocalIssuer.start()) {
            String jwt = elsewhere.token("alice", List.of("starpets-operator"));
            // Port 1 on the loopback: nobody listens, the discovery document cannot be fetched.
            var provider = OidcTokens.provider(oidc(null));
            assertThatThrownBy(() -> provider.authenticate(new BearerTokenAuthenticationToken(jwt)))
                    .isInstanceOf(AuthenticationServiceException.class);
        }
    }
}
