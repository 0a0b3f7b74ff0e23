package gg.starpets.security;

import java.util.List;

/**
 * Every route of the service, those that exist and those announced (the management API of issue
 * 12), with the role each needs: the one table that {@link EndpointAccessTest} runs over. A new
 * route gets its row here. Names and ids that exist nowhere keep the writes from changing anything
 * once their routes are built.
 */
final class Routes {

    /** What a route needs, as a test expects it (written by hand, not read from the policy under test). */
    enum Needs {
        /** Open, and the Authorization header is not even read: a health probe with a stale token still passes. */
        NOTHING_EVER,
        /** Open; a token that is sent must be valid. */
        NOTHING,
        VIEWER,
        OPERATOR
    }

    /**
     * @param byDefault what it needs with the shipped settings
     * @param locked what it needs with reads, /metrics and the balance API all requiring a token
     */
    record Route(String method, String path, String body, Needs byDefault, Needs locked) {
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
            new Route("GET", "/", null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", "/metrics", null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", "/instances", null, Needs.NOTHING, Needs.VIEWER),
            // Tasks and runs: reads
            new Route("GET", "/tasks", null, Needs.NOTHING, Needs.VIEWER),
            new Route("HEAD", "/tasks", null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", NO_TASK, null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", NO_TASK + "/runs?limit=5", null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", NO_TASK + "/events", null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", "/runs?status=SUCCEEDED&limit=5", null, Needs.NOTHING, Needs.VIEWER),
            // Tasks and runs: changes (the management API)
            new Route("POST", "/tasks", "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("PUT", NO_TASK, "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("PATCH", NO_TASK, "{}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("DELETE", NO_TASK, null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/pause", "{\"reason\":\"test\"}", Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/resume", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", NO_TASK + "/trigger", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("POST", "/runs/999999999/cancel", null, Needs.OPERATOR, Needs.OPERATOR),
            new Route("DELETE", "/runs/999999999", null, Needs.OPERATOR, Needs.OPERATOR),
            // A write to a route nobody has written yet is an operator's too.
            new Route("POST", "/instances/no-such-instance/drain", null, Needs.OPERATOR, Needs.OPERATOR),
            // Web pages and the API description
            // The console's page holds no data: open even when reads are locked; its data is a read.
            new Route("GET", "/ui/", null, Needs.NOTHING, Needs.NOTHING),
            new Route("GET", "/ui/app.js", null, Needs.NOTHING, Needs.NOTHING),
            new Route("GET", "/ui/api/summaries?task=a", null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", "/whoami", null, Needs.NOTHING, Needs.NOTHING),
            new Route("GET", "/v3/api-docs", null, Needs.NOTHING, Needs.VIEWER),
            new Route("GET", "/swagger-ui/index.html", null, Needs.NOTHING, Needs.VIEWER),
            // Balance: the assignment's open contract unless STARPETS_BALANCE_REQUIRE_TOKEN
            new Route("GET", "/balance/1", null, Needs.NOTHING, Needs.VIEWER),
            new Route("POST", "/balance/update", "{\"userId\":1,\"amount\":1}", Needs.NOTHING, Needs.OPERATOR));

    private Routes() {}
}
