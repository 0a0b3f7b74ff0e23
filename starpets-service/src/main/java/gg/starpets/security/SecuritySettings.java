package gg.starpets.security;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Who may do what ({@code starpets.security}). The environment variables are mapped in
 * {@code application.yml}; the defaults of the claims and role names are written here, in {@link Oidc},
 * and nowhere else (application.yml's fallback for them is empty); the README's configuration table
 * lists them all ({@code SettingsAgreementTest}).
 *
 * @param operatorTokens bearer tokens that may change tasks (and read), each a clear token,
 *     {@code sha256:<hex>}, or either one behind {@code name:}
 * @param viewerTokens bearer tokens that may only read, in the same forms
 * @param balanceTokens bearer tokens of balance clients (the balance API and nothing else), in the same forms
 * @param publicReads reads (tasks, runs, instances, /metrics, the console's data, the API description)
 *     answer without a token; off by default
 * @param oidc an OpenID Connect issuer whose access tokens are accepted too; off without an issuer
 */
@ConfigurationProperties("starpets.security")
record SecuritySettings(
        List<String> operatorTokens,
        List<String> viewerTokens,
        List<String> balanceTokens,
        boolean publicReads,
        Oidc oidc) {

    SecuritySettings {
        operatorTokens = nonBlank(operatorTokens);
        viewerTokens = nonBlank(viewerTokens);
        balanceTokens = nonBlank(balanceTokens);
        oidc = oidc == null ? new Oidc(null, null, null, null, null, null, null) : oidc;
    }

    /** No token of any role and no issuer: the start generates tokens (see {@link StaticTokens#generate}). */
    boolean nothingConfigured() {
        return operatorTokens.isEmpty() && viewerTokens.isEmpty() && balanceTokens.isEmpty() && !oidc.enabled();
    }

    /**
     * @param issuerUri the issuer; its discovery document names the keys that sign its tokens
     * @param audience a token must name it in {@code aud}; required with an issuer, so that a token the
     *     same issuer made for another application is not accepted here
     * @param rolesClaim the claim holding the roles, a dotted path for nested claims
     *     ({@code realm_access.roles})
     * @param operatorRole the value in that claim that grants the operator role
     * @param viewerRole the value in that claim that grants the viewer role
     * @param balanceRole the value in that claim that grants the balance role
     * @param nameClaim the claim that names the caller (in logs and the audit trail)
     */
    record Oidc(
            String issuerUri,
            String audience,
            String rolesClaim,
            String operatorRole,
            String viewerRole,
            String balanceRole,
            String nameClaim) {

        Oidc {
            issuerUri = blankToNull(issuerUri);
            audience = blankToNull(audience);
            rolesClaim = orDefault(rolesClaim, "roles");
            operatorRole = orDefault(operatorRole, "starpets-operator");
            viewerRole = orDefault(viewerRole, "starpets-viewer");
            balanceRole = orDefault(balanceRole, "starpets-balance");
            nameClaim = orDefault(nameClaim, "sub");
            if (issuerUri != null && audience == null) {
                throw new IllegalStateException("starpets.security.oidc.audience (STARPETS_OIDC_AUDIENCE) is required"
                        + " with an issuer: without it, a token the issuer made for any other application would be"
                        + " accepted here");
            }
        }

        boolean enabled() {
            return issuerUri != null;
        }
    }

    /** Never the tokens themselves: a settings object may end up in a log line or an error message. */
    @Override
    public String toString() {
        return "SecuritySettings[operatorTokens=" + operatorTokens.size() + " configured, viewerTokens="
                + viewerTokens.size() + " configured, balanceTokens=" + balanceTokens.size()
                + " configured, publicReads=" + publicReads + ", oidc=" + oidc + "]";
    }

    private static List<String> nonBlank(List<String> entries) {
        return entries == null
                ? List.of()
                : entries.stream().map(String::strip).filter(e -> !e.isEmpty()).toList();
    }

    private static String blankToNull(String text) {
        return text == null || text.isBlank() ? null : text.strip();
    }

    private static String orDefault(String text, String fallback) {
        String value = blankToNull(text);
        return value == null ? fallback : value;
    }
}
