package gg.starpets.security;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Who may do what ({@code starpets.security}). Defaults and environment variables are in
 * {@code application.yml}; the README's configuration table mirrors them.
 *
 * @param operatorTokens bearer tokens that may change tasks (and read), each a clear token,
 *     {@code sha256:<hex>}, or either one behind {@code name:}
 * @param viewerTokens bearer tokens that may only read, in the same forms
 * @param readsRequireToken GET on tasks, runs, instances, the index, the UI and the API description
 *     needs the viewer role
 * @param metricsRequireToken {@code /metrics} needs the viewer role
 * @param balanceRequireToken GET {@code /balance/*} needs the viewer role and POST
 *     {@code /balance/update} the operator role
 * @param oidc an OpenID Connect issuer whose access tokens are accepted too; off without an issuer
 */
@ConfigurationProperties("starpets.security")
record SecuritySettings(
        List<String> operatorTokens,
        List<String> viewerTokens,
        boolean readsRequireToken,
        boolean metricsRequireToken,
        boolean balanceRequireToken,
        Oidc oidc) {

    SecuritySettings {
        operatorTokens = nonBlank(operatorTokens);
        viewerTokens = nonBlank(viewerTokens);
        oidc = oidc == null ? new Oidc(null, null, null, null, null, null) : oidc;
    }

    /**
     * @param issuerUri the issuer; its discovery document names the keys that sign its tokens
     * @param audience when set, a token must name it in {@code aud}
     * @param rolesClaim the claim holding the roles, a dotted path for nested claims
     *     ({@code realm_access.roles})
     * @param operatorRole the value in that claim that grants the operator role
     * @param viewerRole the value in that claim that grants the viewer role
     * @param nameClaim the claim that names the caller (in logs and the audit trail)
     */
    record Oidc(
            String issuerUri,
            String audience,
            String rolesClaim,
            String operatorRole,
            String viewerRole,
            String nameClaim) {

        Oidc {
            issuerUri = blankToNull(issuerUri);
            audience = blankToNull(audience);
            rolesClaim = orDefault(rolesClaim, "roles");
            operatorRole = orDefault(operatorRole, "starpets-operator");
            viewerRole = orDefault(viewerRole, "starpets-viewer");
            nameClaim = orDefault(nameClaim, "sub");
        }

        boolean enabled() {
            return issuerUri != null;
        }
    }

    /** Never the tokens themselves: a settings object may end up in a log line or an error message. */
    @Override
    public String toString() {
        return "SecuritySettings[operatorTokens=" + operatorTokens.size() + " configured, viewerTokens="
                + viewerTokens.size() + " configured, readsRequireToken=" + readsRequireToken
                + ", metricsRequireToken=" + metricsRequireToken + ", balanceRequireToken=" + balanceRequireToken
                + ", oidc=" + oidc + "]";
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
