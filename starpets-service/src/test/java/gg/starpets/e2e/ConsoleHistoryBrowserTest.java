package gg.starpets.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Browser;
import gg.starpets.support.Timing;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The console's view of a task's history beyond its scheduled runs, in a real browser against the twin
 * (one instance behind nginx: nothing here depends on how runs split nor on a failover): a backfill asked for with the task page's form, its progress (slots
 * done of all) followed to the end, and a second, long one cancelled from the panel, both checked
 * through the API (the runs and the slots they served, the backfill's state); and the slots a task
 * skipped (overlap SKIP, a run longer than its schedule's step) shown as MISSED rows with why, on the
 * runs page filtered by that status.
 */
@Tag("e2e")
class ConsoleHistoryBrowserTest {

    private static final String OPERATOR_TOKEN = Twin.OPERATOR_TOKEN;
    private static final String OPERATOR = "e2e-operator";
    private static final String BACKFILL_TASK = "console-e2e-backfill";
    private static final String MISSED_TASK = "console-e2e-missed";

    /**
     * How long each backfilled slot runs: longer than the task page's refresh (3 s, task.js), so that
     * every count of slots done stays on the page for at least one refresh and the test sees it.
     */
    private static final Duration SLOT_RUN = Duration.ofSeconds(6);

    /** The slots of the backfill followed to its end: a few runs of {@link #SLOT_RUN} each. */
    private static final int SHORT_SLOTS = 3;

    /** The slots of the backfill cancelled: far more than can run (at {@link #SLOT_RUN} each) before the click. */
    private static final int LONG_SLOTS = 100;

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Path SCREENSHOTS =
            Path.of(System.getProperty("starpets.jar")).toAbsolutePath().resolveSibling("screenshots");
    private static final Pattern DONE = Pattern.compile("; (\\d+) done, ");

    private static Twin twin;
    private static Browser browser;

    @BeforeAll
    static void start() throws Exception {
        // The task whose slots are missed is due every 2 s, under the shipped floor for API tasks (10 s).
        twin = Twin.start("e2e-console-history-twin", 1, Map.of("API_MIN_INTERVAL", "1s"));
        browser = Browser.start(1400, 900);
        // The page redraws its lists on each refresh: an element found just before may be gone when a
        // wait reads it, and the next look finds the new one.
        Awaitility.ignoreExceptionByDefault(StaleElementReferenceException.class);
        // Signed in while the board holds the twin's own tasks only (the count signIn waits for).
        ConsoleSession.signIn(browser, OPERATOR_TOKEN, ConsoleBrowserTest.BOARD_ROWS);
        // The demo tasks that hash for minutes stay off: the runs under test share two cores with the twin.
        for (String busy : List.of("rebuild-search-index", "recalc-leaderboard")) {
            call("POST", "/tasks/" + busy + "/pause", "{\"reason\": \"e2e: a quieter machine\"}");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        ConsoleSession.close(browser, twin);
    }

    @AfterEach
    void noScriptErrors() {
        assertThat(browser.consoleErrors()).isEmpty();
    }

    private static JsonNode call(String method, String path, String body) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create(Twin.NGINX + path))
                        .header("Authorization", "Bearer " + OPERATOR_TOKEN)
                        .header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(10))
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 299);
        return r.body().isEmpty() ? null : JSON.readTree(r.body());
    }

    private static JsonNode api(String path) throws Exception {
        return call("GET", path, null);
    }

    /** Goes to a page of the console without reloading it. */
    private static void go(String hash) {
        browser.js("location.hash = arguments[0]", hash);
    }

    private static void openTaskPage(String task) {
        ConsoleSession.openTaskPage(browser, task);
    }

    private static List<WebElement> backfillItems() {
        return browser.driver().findElements(By.cssSelector("#task-backfills > li[data-backfill]"));
    }

    private static WebElement backfillItem(long id) {
        return browser.driver().findElement(By.cssSelector("#task-backfills > li[data-backfill='" + id + "']"));
    }

    /** The id of the one backfill on the page that is not among {@code known}, once there is one. */
    private static long newBackfill(List<Long> known) {
        List<Long> found = new ArrayList<>();
        await().atMost(Timing.SOON).until(() -> {
            found.clear();
            backfillItems().stream()
                    .map(li -> Long.parseLong(li.getAttribute("data-backfill")))
                    .filter(id -> !known.contains(id))
                    .forEach(found::add);
            return found.size() == 1;
        });
        return found.getFirst();
    }

    /**
     * Fills the backfill form with {@code from} and {@code to} as the viewer's local time and sends it
     * with its button. The fields are set through their value, in the datetime-local format they hold:
     * typing into a datetime-local field depends on the browser's locale (its order of day, month and
     * AM/PM), which is not what this test is about.
     */
    private static void askForBackfill(Instant from, Instant to) {
        browser.js("""
                const local = (iso) => {
                  const d = new Date(iso);
                  const p = (n) => String(n).padStart(2, '0');
                  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
                    + `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
                };
                const form = document.getElementById('backfill-form');
                form.elements.from.value = local(arguments[0]);
                form.elements.to.value = local(arguments[1]);
                """, from.toString(), to.toString());
        browser.driver()
                .findElement(By.cssSelector("#backfill-form button[type=submit]"))
                .click();
    }

    /** The task's one-off runs (a backfill's runs are: cause MANUAL) whose slot is in [from, to]. */
    private static List<JsonNode> slotRuns(Instant from, Instant to) throws Exception {
        return api("/tasks/" + BACKFILL_TASK + "/runs?limit=500")
                .get("runs")
                .valueStream()
                .filter(r -> r.get("cause").asString().equals("MANUAL"))
                .filter(r -> {
                    Instant slot = Instant.parse(r.get("scheduledFor").asString());
                    return !slot.isBefore(from) && !slot.isAfter(to);
                })
                .toList();
    }

    private static Stream<Instant> slotsOf(List<JsonNode> runs) {
        return runs.stream().map(r -> Instant.parse(r.get("scheduledFor").asString()));
    }

    @Test
    void anOperatorBackfillsAPastWindowFromTheTasksPageWatchesItEndAndCancelsALongOne() throws Exception {
        // An hourly task whose own schedule does not start before the test ends: every run is a slot.
        call("POST", "/tasks", """
                {"name": "%s", "handler": "sleep", "schedule": "1h", "timeout": "1m",
                 "startAt": "%s", "params": {"duration": "%ds"}}
                """.formatted(
                        BACKFILL_TASK,
                        Instant.now().plus(Duration.ofDays(1)).truncatedTo(ChronoUnit.SECONDS),
                        SLOT_RUN.toSeconds()));
        openTaskPage(BACKFILL_TASK);
        await().atMost(Timing.SOON)
                .until(() ->
                        browser.driver().findElement(By.id("backfill-form")).isDisplayed()
                                && browser.driver()
                                        .findElement(By.id("task-backfills-empty"))
                                        .isDisplayed());

        // An interval's slots are from, from + 1 h, …: three in [from, from + 2 h 30 min], all past.
        Instant from = Instant.now().minus(Duration.ofHours(4)).truncatedTo(ChronoUnit.SECONDS);
        Instant to = from.plus(Duration.ofMinutes(150));
        List<Instant> slots = List.of(from, from.plus(Duration.ofHours(1)), from.plus(Duration.ofHours(2)));
        askForBackfill(from, to);
        long first = newBackfill(List.of());
        assertThat(backfillItem(first).getText())
                .startsWith("Backfill " + first + ": " + SHORT_SLOTS + " slots, ")
                .contains("(by " + OPERATOR + ")");

        // Its progress as the page shows it, each count of slots done seen on the way to the end.
        List<Integer> seen = new ArrayList<>();
        await().atMost(Timing.WORK).until(() -> {
            String text = backfillItem(first).getText();
            Matcher done = DONE.matcher(text);
            if (done.find()) {
                int n = Integer.parseInt(done.group(1));
                if (seen.isEmpty() || seen.getLast() != n) {
                    seen.add(n);
                }
            }
            return text.contains(" — done; " + SHORT_SLOTS + " done, 0 failed, 0 pending, 0 running, 0 cancelled");
        });
        assertThat(seen).as("counts of slots done, as shown").isSorted().contains(SHORT_SLOTS);
        assertThat(seen)
                .as("a count between none and all: the page followed the backfill as it went")
                .anyMatch(n -> n > 0 && n < SHORT_SLOTS);
        assertThat(backfillItem(first).findElements(By.tagName("button"))).isEmpty();
        browser.screenshot(SCREENSHOTS, "console-task-backfill-done");

        // Through the API: done, one succeeded run per slot, started oldest slot first.
        JsonNode done = api("/backfills/" + first);
        assertThat(done.get("state").asString()).isEqualTo("DONE");
        assertThat(done.get("slots").asInt()).isEqualTo(SHORT_SLOTS);
        assertThat(done.get("done").asInt()).isEqualTo(SHORT_SLOTS);
        assertThat(done.get("requestedBy").asString()).isEqualTo(OPERATOR);
        List<JsonNode> runs = slotRuns(from, to);
        assertThat(runs).allSatisfy(r -> assertThat(r.get("status").asString()).isEqualTo("SUCCEEDED"));
        assertThat(slotsOf(runs)).containsExactlyInAnyOrderElementsOf(slots);
        assertThat(slotsOf(runs.stream()
                        .sorted((a, b) -> Instant.parse(a.get("startedAt").asString())
                                .compareTo(Instant.parse(b.get("startedAt").asString())))
                        .toList()))
                .as("slots in the order their runs started")
                .containsExactlyElementsOf(slots);

        // A long one, a month back (an hour per slot), cancelled from the panel while it goes on.
        Instant longFrom = Instant.now().minus(Duration.ofDays(30)).truncatedTo(ChronoUnit.SECONDS);
        Instant longTo = longFrom.plus(Duration.ofHours(LONG_SLOTS - 1));
        askForBackfill(longFrom, longTo);
        long second = newBackfill(List.of(first));
        By cancel = By.cssSelector("#task-backfills > li[data-backfill='" + second + "'] button");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElements(cancel).isEmpty());
        assertThat(backfillItem(second).getText())
                .startsWith("Backfill " + second + ": " + LONG_SLOTS + " slots, ")
                .contains(" — in progress; ");
        assertThat(api("/backfills/" + second).get("state").asString()).isEqualTo("IN_PROGRESS");
        browser.driver().findElement(cancel).click();
        await().atMost(Timing.SOON)
                .until(() ->
                        browser.driver().findElement(By.id("confirm-dialog")).isDisplayed());
        browser.driver().findElement(By.id("confirm-yes")).click();

        await().atMost(Timing.SOON)
                .until(() -> api("/backfills/" + second).get("state").asString().equals("CANCELLED"));
        await().atMost(Timing.SOON)
                .until(() -> backfillItem(second).getText().contains(" — cancelled; ")
                        && browser.driver().findElements(cancel).isEmpty());
        browser.screenshot(SCREENSHOTS, "console-task-backfill-cancelled");

        // Through the API: a run per slot; the slots not started when it was cancelled never start (the
        // one running then ends as it would).
        JsonNode cancelled = api("/backfills/" + second);
        assertThat(cancelled.get("cancelledBy").asString()).isEqualTo(OPERATOR);
        assertThat(cancelled.get("pending").asInt()).isZero();
        assertThat(cancelled.get("cancelled").asInt()).isGreaterThan(0);
        await().atMost(Timing.SOON)
                .until(() -> api("/backfills/" + second).get("running").asInt() == 0);
        List<JsonNode> longRuns = slotRuns(longFrom, longTo);
        assertThat(slotsOf(longRuns).distinct()).hasSize(LONG_SLOTS);
        List<JsonNode> neverStarted = longRuns.stream()
                .filter(r -> r.get("status").asString().equals("CANCELLED"))
                .toList();
        assertThat(neverStarted)
                .hasSize(api("/backfills/" + second).get("cancelled").asInt())
                .allSatisfy(r -> assertThat(r.get("startedAt").isNull()).isTrue());
        assertThat(slotsOf(longRuns.stream()
                        .filter(r -> !r.get("status").asString().equals("CANCELLED"))
                        .toList()))
                .as("the slots that ran are the oldest")
                .allSatisfy(slot -> assertThat(slotsOf(neverStarted))
                        .allSatisfy(later -> assertThat(later).isAfter(slot)));
        go("#/tasks");
    }

    @Test
    void aSlotSkippedWhileTheTaskRanIsAMissedRowWithWhyOnTheRunsPage() throws Exception {
        // Every 2 s, each run 5 s: with overlap SKIP (the default) and misfire SKIP, the slots due while
        // a run goes on are skipped, and recorded MISSED when it ends.
        call("POST", "/tasks", """
                {"name": "%s", "handler": "sleep", "schedule": "*/2 * * * * *", "timeout": "1m",
                 "misfire": "SKIP", "params": {"duration": "5s"}}
                """.formatted(MISSED_TASK));
        JsonNode missed = await().atMost(Timing.WORK)
                .until(
                        () -> api("/runs?task=" + MISSED_TASK + "&status=MISSED&limit=1")
                                .get("runs"),
                        runs -> runs.size() > 0)
                .get(0);
        long missedId = missed.get("id").asLong();
        String why = missed.get("error").asString();
        assertThat(why).matches("overlap: run \\d+ was still running");
        // Paused at once, so that the row stays among the newest the pages show (its run in progress
        // ends as it would, recording its own skipped slots, and nothing starts after it).
        call("POST", "/tasks/" + MISSED_TASK + "/pause", "{\"reason\": \"e2e: a missed slot seen\"}");

        // The runs page, filtered by status MISSED with its form, as an operator would.
        go("#/runs");
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElement(By.id("view-runs")).isDisplayed());
        WebElement task = browser.driver().findElement(By.cssSelector("#run-filters input[name=task]"));
        task.clear();
        task.sendKeys(MISSED_TASK);
        new Select(browser.driver().findElement(By.cssSelector("#run-filters select[name=status]")))
                .selectByVisibleText("MISSED");
        browser.driver()
                .findElement(By.cssSelector("#run-filters button[type=submit]"))
                .click();
        By row = By.cssSelector("#runs-body tr[data-run='" + missedId + "']");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElements(row).isEmpty());
        assertThat(browser.driver().getCurrentUrl()).endsWith("#/runs?task=" + MISSED_TASK + "&status=MISSED");
        List<WebElement> rows = browser.driver().findElements(By.cssSelector("#runs-body tr"));
        assertThat(rows).allSatisfy(r -> {
            assertThat(r.getAttribute("data-status")).isEqualTo("MISSED");
            assertThat(r.getAttribute("data-task")).isEqualTo(MISSED_TASK);
        });
        WebElement shown = browser.driver().findElement(row);
        assertThat(shown.findElement(By.cssSelector("td[data-label=Status]")).getText())
                .isEqualTo("MISSED");
        assertThat(shown.findElement(By.cssSelector("td[data-label=Status] span"))
                        .getAttribute("class"))
                .contains("state-missed");
        assertThat(shown.findElement(By.cssSelector("td[data-label='Error, output, result']"))
                        .getText())
                .isEqualTo(why);
        browser.screenshot(SCREENSHOTS, "console-runs-missed");

        // And among the task's runs on its page, with the same reason.
        openTaskPage(MISSED_TASK);
        By onPage = By.cssSelector("#task-runs-body tr[data-run='" + missedId + "']");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElements(onPage).isEmpty());
        WebElement pageRow = browser.driver().findElement(onPage);
        assertThat(pageRow.getAttribute("data-status")).isEqualTo("MISSED");
        assertThat(pageRow.findElement(By.cssSelector("td[data-label='Error, output, result']"))
                        .getText())
                .isEqualTo(why);

        go("#/tasks");
    }
}
