package gg.starpets.security;

import java.util.List;

/**
 * Every route of the service, those that exist and those not written yet, with the role each needs:
 * the one table that {@link EndpointAccessTest} runs over. A new route gets its row here. Names and
 * ids that exist nowhere keep the writes from changing anything.
 */
final class Routes {

    /** What a route needs, as a test expects it (written by hand, not read from the policy under test). */
    enum Needs {
        /** Open, and the Authorization header is not even read: a health probe with a stale token still passes. */
        NOTHING_EVER,
        /** Open; a token that is sent must be valid. */
        NOTHING,
        /** A valid token of any role. */
        ANY_ROLE,
        VIEWER,
        OPERATOR,
        BALANCE
    }

    /**
     * @param byDefault what it needs with the shipped settings (closed)
     * @param publicReads what it needs with {@code STARPETS_PUBLIC_READS=true}
     */
    record Route(String method, String path, String body, Needs byDefault, Needs publicReads) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    private static final String NO_TASK = "/tasks/no-such-task";

    static final List<Route> ALL = List.of(
            // Service
            new Route("GET", "/health", null, Needs.NOTHING_EVER, Needs.NOTHING_EVER),
            new Route("POST", "/health", null, Needs.NOTHING_EVER, Needs.NOTHING_EVER), // 405, never 401
            new Route("GET", "/actuator/health", null, Needs.NOTHING_EVER, Needs.NOTHING_EVER),
            new Route("GET", "/actuator/health/liveness", null, Needs.NOTHING_EVER, Needs.NOTHING_EVER),
            new Route("GET", "/actuator/health/readiness", null, Needs.NOTHING_EVER, Needs.NOTHING_EVER),
            new Route("GET", "/", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/metrics", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/instances", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/no-such-route", null, Needs.VIEWER, Needs.NOTHING),
            // Tasks and runs: reads
            new Route("GET", "/tasks", null, Needs.VIEWER, Needs.NOTHING),
            new Route("HEAD", "/tasks", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", NO_TASK, null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", NO_TASK + "/runs?limit=5", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", NO_TASK + "/events", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", NO_TASK + "/notifications", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/runs?status=SUCCEEDED&limit=5", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/runs/999999999", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", NO_TASK + "/backfills", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/backfills/999999999", null, Needs.VIEWER, Needs.NOTHING),
            // Tasks and runs: changes (the management API)
            new Route("POST", "/tasks", "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("PUT", NO_TASK, "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("PATCH", NO_TASK, "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("DELETE", NO_TASK, null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/pause", "{\"reason\":\"test\"}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/resume", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/trigger", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/runs", "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", "/runs/999999999/cancel", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("DELETE", "/runs/999999999", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/backfill", "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("DELETE", "/backfills/999999999", null, Needs.OPERATOR, Needs.OPERATOR),
            // A write to a route nobody has written yet is an operator's too.
            new Route("POST", "/instances/no-such-instance/drain", null, Needs.OPERATOR, Needs.OPERATOR),
            // Web pages and the API description. The console's page holds no data: open; its data is a read.
            new Route("GET", "/ui/", null, Needs.NOTHING, Needs.NOTHING),
            new Route("GET", "/ui/app.js", null, Needs.NOTHING, Needs.NOTHING),
            new Route("POST", "/ui/", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("GET", "/ui/api/summaries?task=a", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/whoami", null, Needs.ANY_ROLE, Needs.NOTHING),
            new Route("GET", "/v3/api-docs", null, Needs.VIEWER, Needs.NOTHING),
            new Route("GET", "/swagger-ui/index.html", null, Needs.VIEWER, Needs.NOTHING),
            // Balance: its own role, whatever reads are
            new Route("GET", "/balance/1", null, Needs.BALANCE, Needs.BALANCE),
            new Route("GET", "/balance/1/changes?limit=1", null, Needs.BALANCE, Needs.BALANCE),
            new Route("POST", "/balance/update", "{\"userId\":1,\"amount\":1}", Needs.BALANCE, Needs.BALANCE));

    private Routes() {}
}
