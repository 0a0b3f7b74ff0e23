package gg.starpets.web;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** GET / — an index of the API. */
@RestController
class IndexController {

    record Index(String name, Links links) {}

    record Links(
            String health,
            String metrics,
            String instances,
            String tasks,
            String task,
            String taskRuns,
            String runs,
            String balance,
            String balanceUpdate) {}

    private static final Index INDEX = new Index(
            "StarPets",
            new Links(
                    "/health",
                    "/metrics",
                    "/instances",
                    "/tasks",
                    "/tasks/{name}",
                    "/tasks/{name}/runs?limit=50&before={runId}",
                    "/runs?status=&instanceId=&limit=",
                    "/balance/{userId}",
                    "POST /balance/update"));

    @GetMapping("/")
    Index index() {
        return INDEX;
    }
}
