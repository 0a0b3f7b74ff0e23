package gg.starpets.bench;

import gg.starpets.support.AppProcess;
import gg.starpets.support.Browser;
import gg.starpets.support.TestPostgres;
import gg.starpets.support.TestTokens;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The console with 1,000 tasks on two instances of the real jar: time to a usable board in headless
 * Chromium, bytes per update of its polling, what a server-sent stream of changes would carry
 * instead, and how long the API takes to answer. Prints markdown table rows. Not a test: run by
 * bench/console.sh.
 */
public final class ConsoleBenchmark {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ConsoleBenchmark() {}

    public static void main(String[] args) throws Exception {
        int tasks = args.length > 0 ? Integer.parseInt(args[0]) : 1_000;
        int loads = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        Path config = tasksFile(tasks);
        String db = TestPostgres.createDatabase();
        List<AppProcess> instances = new ArrayList<>();
        try {
            for (int i = 1; i <= 2; i++) {
                Map<String, Object> settings = new HashMap<>(AppProcess.databaseSettings(db));
                settings.put("spring.config.additional-location", "file:" + config);
                settings.put("starpets.scheduler.total-instances", 2);
                instances.add(AppProcess.start("console-bench-" + i, settings));
            }
            String base = instances.getFirst().url("");
            waitFor(base, tasks);
            timeToUsableBoard(base, tasks, loads);
            bytesPerUpdate(base, tasks, seconds);
            pollVersusStream(base, tasks, seconds);
            apiLatency(base, tasks);
        } finally {
            for (AppProcess instance : instances) {
                instance.close();
            }
            Files.deleteIfExists(config);
        }
        System.exit(0);
    }

    /** Mixed schedules and run lengths, so that at any moment hundreds run and hundreds wait. */
    private static Path tasksFile(int tasks) throws IOException {
        StringBuilder yml = new StringBuilder("starpets:\n  tasks:\n");
        String[] schedules = {"20s", "45s", "1m", "*/2 * * * *", "*/5 * * * *", "0 3 * * *", "*/30 * * * * *"};
        for (int i = 0; i < tasks; i++) {
            yml.append(String.format(
                    Locale.ROOT,
                    "    - { name: task-%04d, handler: sleep, schedule: \"%s\", timeout: 5m, params: { duration: %ds } }%n",
                    i,
                    schedules[i % schedules.length],
                    5 + (i * 7) % 36));
        }
        Path file = Files.createTempFile("console-bench-", ".yml");
        Files.writeString(file, yml);
        return file;
    }

    private static void waitFor(String base, int tasks) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                JsonNode list = json(base + "/tasks");
                long finished = list.get("tasks")
                        .valueStream()
                        .filter(t -> t.hasNonNull("lastRun"))
                        .count();
                // Most tasks have run once: the strips have something to show.
                if (list.get("tasks").size() == tasks && finished > tasks * 0.9) {
                    return;
                }
            } catch (IOException e) {
                // Not up yet.
            }
            Thread.sleep(1_000);
        }
        throw new IllegalStateException("the instances did not run their " + tasks + " tasks within 4 minutes");
    }

    private static void timeToUsableBoard(String base, int tasks, int loads) {
        List<Double> rows = new ArrayList<>();
        List<Double> strips = new ArrayList<>();
        try (Browser browser = Browser.start(1400, 900)) {
            browser.signIn(base, TestTokens.VIEWER);
            for (int i = 0; i < loads + 1; i++) {
                browser.driver().get(base + "/ui/?load=" + i);
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!"strips".equals(browser.js("return document.getElementById('board').dataset.ready"))) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the board did not become ready");
                    }
                    Thread.onSpinWait();
                }
                Map<String, Object> marks = browser.js("""
                        return {
                          rows: performance.getEntriesByName('board-rows')[0].startTime,
                          strips: performance.getEntriesByName('board-strips')[0].startTime,
                          count: document.querySelectorAll('#board-body tr').length };
                        """);
                if (((Number) marks.get("count")).intValue() != tasks) {
                    throw new IllegalStateException("the board shows " + marks.get("count") + " tasks");
                }
                if (i > 0) { // the first load warms the JIT of the instances and the browser's cache
                    rows.add(((Number) marks.get("rows")).doubleValue());
                    strips.add(((Number) marks.get("strips")).doubleValue());
                }
            }
        }
        row(
                "time to a usable board (every row drawn), " + tasks + " tasks, headless Chromium",
                ms(p(rows, 50)),
                ms(p(rows, 99)),
                "<= 2 s",
                p(rows, 99) <= 2000,
                loads + " loads from navigation start; max "
                        + ms(rows.stream().max(Double::compare).orElseThrow()));
        row(
                "... and every strip of the last 20 runs drawn",
                ms(p(strips, 50)),
                ms(p(strips, 99)),
                "",
                null,
                "one /ui/api/summaries request for all tasks");
    }

    private static void bytesPerUpdate(String base, int tasks, int seconds) throws InterruptedException {
        try (Browser browser = Browser.start(1400, 900)) {
            browser.signIn(base, TestTokens.VIEWER);
            browser.driver().get(base + "/ui/");
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!"strips".equals(browser.js("return document.getElementById('board').dataset.ready"))
                    && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            browser.js("""
                    performance.setResourceTimingBufferSize(100000);
                    performance.clearResourceTimings();
                    window.__long = [];
                    new PerformanceObserver((l) => window.__long.push(...l.getEntries().map((e) => e.duration)))
                      .observe({ type: 'longtask' });
                    """);
            Thread.sleep(seconds * 1000L);
            Map<String, Object> stats = browser.js("""
                    const sum = (xs) => xs.reduce((a, b) => a + b, 0);
                    const of = (suffix) => performance.getEntriesByType('resource')
                      .filter((e) => new URL(e.name).pathname === suffix);
                    const tasks = of('/tasks'), summaries = of('/ui/api/summaries');
                    return {
                      polls: tasks.length,
                      wire: tasks.map((e) => e.transferSize),
                      body: tasks.map((e) => e.decodedBodySize),
                      summaryWire: sum(summaries.map((e) => e.transferSize)),
                      summaryCount: summaries.length,
                      longCount: window.__long.length,
                      longMs: sum(window.__long),
                    };
                    """);
            int polls = ((Number) stats.get("polls")).intValue();
            List<Double> wire = numbers(stats.get("wire"));
            List<Double> body = numbers(stats.get("body"));
            double summaryWire = ((Number) stats.get("summaryWire")).doubleValue();
            double perSecond = (wire.stream().mapToDouble(Double::doubleValue).sum() + summaryWire) / seconds;
            row(
                    "bytes per board update (GET /tasks on the wire), " + tasks + " tasks",
                    kb(p(wire, 50)),
                    kb(p(wire, 99)),
                    "",
                    null,
                    String.format(
                            Locale.ROOT,
                            "%d polls in %d s; JSON %s before compression",
                            polls,
                            seconds,
                            kb(p(body, 50))));
            row(
                    "bytes per second for one open board, " + tasks + " tasks",
                    kb(perSecond),
                    "",
                    "",
                    null,
                    String.format(
                            Locale.ROOT,
                            "polls + %d summary requests (%s) for the strips of runs that ended",
                            ((Number) stats.get("summaryCount")).intValue(),
                            kb(summaryWire)));
            row(
                    "main-thread long tasks (> 50 ms) while live, " + tasks + " tasks",
                    String.format(Locale.ROOT, "%d", ((Number) stats.get("longCount")).intValue()),
                    "",
                    "",
                    null,
                    String.format(
                            Locale.ROOT,
                            "%.0f ms in all over %d s",
                            ((Number) stats.get("longMs")).doubleValue(),
                            seconds));
        }
    }

    /**
     * What a server-sent stream would carry instead of polling: every second, only the tasks whose
     * JSON changed (the elapsed time left out, as the page counts it itself), against the whole list.
     */
    private static void pollVersusStream(String base, int tasks, int seconds) throws Exception {
        List<Double> full = new ArrayList<>();
        List<Double> fullGzip = new ArrayList<>();
        List<Double> diff = new ArrayList<>();
        List<Double> diffGzip = new ArrayList<>();
        List<Double> changed = new ArrayList<>();
        Map<String, String> previous = null;
        for (int i = 0; i <= seconds; i++) {
            long started = System.nanoTime();
            String body = get(base + "/tasks", false).body();
            Map<String, String> now = new HashMap<>();
            for (JsonNode t : JSON.readTree(body).get("tasks")) {
                ObjectNode copy = ((ObjectNode) t).deepCopy();
                copy.remove("elapsedSeconds");
                now.put(t.get("name").asString(), copy.toString());
            }
            if (previous != null) {
                Map<String, String> before = previous;
                List<String> delta = now.entrySet().stream()
                        .filter(e -> !e.getValue().equals(before.get(e.getKey())))
                        .map(Map.Entry::getValue)
                        .toList();
                String message = "data: [" + String.join(",", delta) + "]\n\n";
                full.add((double) body.length());
                fullGzip.add((double) gzip(body));
                diff.add((double) message.length());
                diffGzip.add((double) gzip(message));
                changed.add((double) delta.size());
            }
            previous = now;
            Thread.sleep(Math.max(0, 1000 - (System.nanoTime() - started) / 1_000_000));
        }
        row(
                "poll: whole list each second, " + tasks + " tasks",
                kb(p(full, 50)) + " (" + kb(p(fullGzip, 50)) + " gzip)",
                "",
                "",
                null,
                "what GET /tasks carries per update");
        row(
                "SSE alternative: only the tasks that changed, each second",
                kb(p(diff, 50)) + " (" + kb(p(diffGzip, 50)) + " gzip)",
                "",
                "",
                null,
                String.format(
                        Locale.ROOT,
                        "p50 %.0f of %d tasks changed per second (progress of the running ones)",
                        p(changed, 50),
                        tasks));
    }

    private static void apiLatency(String base, int tasks) throws Exception {
        List<Double> list = new ArrayList<>();
        List<Double> gzipped = new ArrayList<>();
        List<Double> summaries = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            list.add(timed(() -> get(base + "/tasks", false)));
            gzipped.add(timed(() -> get(base + "/tasks", true)));
            summaries.add(timed(() -> get(base + "/ui/api/summaries", true)));
        }
        HttpResponse<String> s = get(base + "/ui/api/summaries", false);
        row(
                "GET /tasks, " + tasks + " tasks (server + loopback)",
                ms(p(list, 50)),
                ms(p(list, 99)),
                "",
                null,
                "with Accept-Encoding gzip: p50 " + ms(p(gzipped, 50)));
        row(
                "GET /ui/api/summaries, " + tasks + " tasks x 20 runs",
                ms(p(summaries, 50)),
                ms(p(summaries, 99)),
                "",
                null,
                kb(s.body().length()) + " JSON, " + kb(gzip(s.body())) + " gzip");
    }

    private interface Call {
        Object run() throws Exception;
    }

    private static double timed(Call call) throws Exception {
        long started = System.nanoTime();
        call.run();
        return (System.nanoTime() - started) / 1e6;
    }

    private static HttpResponse<String> get(String url, boolean gzip) throws IOException, InterruptedException {
        HttpRequest.Builder request = TestTokens.bearer(
                        HttpRequest.newBuilder(URI.create(url)),
                        TestTokens.readerOf(URI.create(url).getPath()))
                .timeout(Duration.ofSeconds(30));
        if (gzip) {
            request.header("Accept-Encoding", "gzip");
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(String url) throws IOException, InterruptedException {
        return JSON.readTree(get(url, false).body());
    }

    private static int gzip(String text) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream zip = new GZIPOutputStream(out)) {
            zip.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return out.size();
    }

    private static List<Double> numbers(Object list) {
        List<Double> values = new ArrayList<>();
        for (Object o : (List<?>) list) {
            values.add(((Number) o).doubleValue());
        }
        return values;
    }

    private static double p(List<Double> values, int percentile) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * percentile / 100.0)));
    }

    private static String ms(double ms) {
        return String.format(Locale.ROOT, "%.0f ms", ms);
    }

    private static String kb(double bytes) {
        return String.format(Locale.ROOT, "%.1f KB", bytes / 1024);
    }

    private static void row(String what, String p50, String p99, String target, Boolean met, String notes) {
        System.out.printf(
                "| %s | %s | %s | %s | %s | %s |%n",
                what, p50, p99, target, met == null ? "" : met ? "met" : "NOT met", notes);
    }
}
