package gg.starpets.web;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** GET / — an index of the API. */
@RestController
class IndexController {

    private static final Map<String, String> ROUTES = routes();

    @GetMapping("/")
    Map<String, Object> index() {
        return Map.of("name", "StarPets", "links", ROUTES);
    }

    private static Map<String, String> routes() {
        Map<String, String> routes = new LinkedHashMap<>();
        routes.put("health", "/health");
        routes.put("metrics", "/metrics");
        routes.put("instances", "/instances");
        routes.put("tasks", "/tasks");
        routes.put("task", "/tasks/{name}");
        routes.put("taskRuns", "/tasks/{name}/runs?limit=50&before={runId}");
        routes.put("runs", "/runs?status=&instanceId=&limit=");
        routes.put("balance", "/balance/{userId}");
        routes.put("balanceUpdate", "POST /balance/update");
        return routes;
    }
}
