package gg.starpets.support;

import java.net.http.HttpRequest;
import java.util.HashMap;
import java.util.Map;

/**
 * The bearer tokens every test instance of the service is started with (AppInstance, AppProcess), one per
 * role, named as the audit trail and the balance idempotency keys will show them. Tests about other
 * things read and write with these; the security tests bring their own.
 */
public final class TestTokens {

    public static final String OPERATOR = "test-operator-token-00000001";
    public static final String VIEWER = "test-viewer-token-000000001";
    public static final String BALANCE = "test-balance-token-00000001";

    /** The names the tokens are configured under. */
    public static final String OPERATOR_NAME = "test-operator";

    public static final String VIEWER_NAME = "test-viewer";
    public static final String BALANCE_NAME = "test-balance";

    private TestTokens() {}

    /** The service's settings that configure the three tokens. */
    public static Map<String, Object> settings() {
        Map<String, Object> settings = new HashMap<>();
        settings.put("starpets.security.operator-tokens", OPERATOR_NAME + ":" + OPERATOR);
        settings.put("starpets.security.viewer-tokens", VIEWER_NAME + ":" + VIEWER);
        settings.put("starpets.security.balance-tokens", BALANCE_NAME + ":" + BALANCE);
        return settings;
    }

    /**
     * The token a test reading {@code path} sends: the balance client's for the balance API, the
     * viewer's for everything else.
     */
    public static String readerOf(String path) {
        return path.equals("/balance") || path.startsWith("/balance/") ? BALANCE : VIEWER;
    }

    /** {@code Authorization: Bearer <token>}. */
    public static HttpRequest.Builder bearer(HttpRequest.Builder request, String token) {
        return request.header("Authorization", "Bearer " + token);
    }
}
