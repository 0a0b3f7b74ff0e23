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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The operators' actions from the console, in a real browser against the twin (five instances behind
 * nginx, the real management API and its roles): a viewer's token shows no button; configuration
 * tasks cannot be edited or deleted; pause (seen as PAUSED through every instance's API within 2 s),
 * resume, trigger, cancel with a confirmation; create a task with the form, run it and read its
 * output; edit it with If-Match (a stale edit is refused); its audit trail, paged; delete it; a task's
 * overlap, cost and notifications (the webhook as scheme and host only) on its page; a pending one-off
 * run listed with its due time and cancelled from its row; and a task quarantined when its instance is SIGKILLed (SCHEDULER_QUARANTINE_AFTER=1, no window), notified by
 * Alertmanager at the twin's webhook with a link to its page, resumed from the page.
 */
@Tag("e2e")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleActionsBrowserTest {

    private static final String OPERATOR = "e2e-operator";
    private static final String OPERATOR_TOKEN = "e2e-operator-token-0123456789";
    private static final String VIEWER_TOKEN = "e2e-viewer-token-0123456789";
    private static final String API_TASK = "console-e2e-ping";
    /** A task created over the API with overlap, cost and notify, given a one-off run that is cancelled. */
    private static final String ONE_OFF_TASK = "console-e2e-one-off";
    /** The part of the task's webhook that the console must never show. */
    private static final String WEBHOOK_SECRET = "secret-part";

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Path SCREENSHOTS =
            Path.of(System.getProperty("starpets.jar")).toAbsolutePath().resolveSibling("screenshots");

    private static Twin twin;
    private static Browser browser;
    /** The task triggered from the page, whose run the next test cancels. */
    private static String triggered;

    @BeforeAll
    static void start() throws Exception {
        twin = Twin.start(
                "e2e-console-actions-twin",
                Map.of(
                        "TASK_DURATION",
                        "40s",
                        "STARPETS_OPERATOR_TOKENS",
                        OPERATOR + ":" + OPERATOR_TOKEN,
                        "STARPETS_VIEWER_TOKENS",
                        "e2e-viewer:" + VIEWER_TOKEN,
                        // One lost run quarantines a task: the last test kills an instance, whenever its
                        // runs started (no quarantine window).
                        "SCHEDULER_QUARANTINE_AFTER",
                        "1",
                        "SCHEDULER_QUARANTINE_WINDOW",
                        "0",
                        // The task the form creates calls nginx on loopback: opened for tasks created over the API.
                        "STARPETS_HTTP_ALLOWED_DESTINATIONS",
                        "127.0.0.1:28080"));
        browser = Browser.start(1400, 900);
        // The page redraws what changed (a run's row while it runs, a task's buttons when its state
        // changes): an element found just before may be gone when a wait reads it, and the next look
        // finds the new one.
        Awaitility.ignoreExceptionByDefault(StaleElementReferenceException.class);
    }

    @AfterAll
    static void stop() throws Exception {
        ConsoleSession.close(browser, twin);
    }

    @AfterEach
    void noScriptErrors() {
        assertThat(browser.consoleErrors()).isEmpty();
    }

    private static HttpResponse<String> send(String method, String path, String body, String token, String ifMatch)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(Twin.NGINX + path))
                .header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(10))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A read through nginx, or through one instance when {@code url} is absolute. */
    private static JsonNode api(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create(url.startsWith("http") ? url : Twin.NGINX + url))
                        .header("Authorization", "Bearer " + VIEWER_TOKEN)
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private static JsonNode operator(String method, String path, String body) throws Exception {
        HttpResponse<String> r = send(method, path, body, OPERATOR_TOKEN, null);
        assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 299);
        return r.body().isEmpty() ? null : JSON.readTree(r.body());
    }

    private static void signIn(String token) {
        ConsoleSession.signIn(browser, token, ConsoleBrowserTest.BOARD_ROWS);
    }

    private static WebElement row(String task) {
        return browser.driver().findElement(By.cssSelector("#board-body tr[data-task='" + task + "']"));
    }

    private static String text(WebElement element, String selector) {
        return element.findElement(By.cssSelector(selector)).getText().strip();
    }

    /** The action buttons in a container, read in one go (a redraw replaces them all). */
    private static Set<String> actions(String containerSelector) {
        List<String> actions = browser.js(
                "return [...document.querySelectorAll(arguments[0])].map((b) => b.dataset.action)",
                containerSelector + " button[data-action]");
        return Set.copyOf(actions);
    }

    /**
     * Clicks a row's button. The board re-renders a row when its task changes (a run starts or ends), so
     * the button found may be gone by the click: a click on a gone element did nothing, and is tried
     * again on the row as it is now.
     */
    private static void click(String task, String action) {
        await().atMost(Timing.SOON)
                .ignoreExceptionsInstanceOf(StaleElementReferenceException.class)
                .until(() -> {
                    row(task)
                            .findElement(By.cssSelector("button[data-action=" + action + "]"))
                            .click();
                    return true;
                });
    }

    /** Goes to a page of the console without reloading it (the board's state stays). */
    private static void go(String hash) {
        browser.js("location.hash = arguments[0]", hash);
    }

    private static void openTaskPage(String task) {
        ConsoleSession.openTaskPage(browser, task);
    }

    /** A task page's definition, label to value, read in one go. */
    private static Map<String, String> definition() {
        return browser.js("""
                const out = {};
                for (const dt of document.querySelectorAll('#task-definition dt')) {
                  out[dt.textContent] = dt.nextElementSibling.textContent.trim();
                }
                return out;
                """);
    }

    /** A run's status through the API, found among its task's runs. */
    private static String runStatus(long runId) throws Exception {
        return api("/tasks/" + ONE_OFF_TASK + "/runs?limit=50")
                .get("runs")
                .valueStream()
                .filter(r -> r.get("id").asLong() == runId)
                .map(r -> r.get("status").asString())
                .findFirst()
                .orElseThrow();
    }

    /** Clicks a button that asks first, and answers: yes, or the safe choice (keep). */
    private static void answer(By button, boolean yes) {
        browser.driver().findElement(button).click();
        await().atMost(Timing.SOON)
                .until(() ->
                        browser.driver().findElement(By.id("confirm-dialog")).isDisplayed());
        browser.driver()
                .findElement(yes ? By.id("confirm-yes") : By.cssSelector("#confirm-dialog [data-close]"))
                .click();
    }

    private static List<WebElement> events() {
        return browser.driver().findElements(By.cssSelector("#task-events > li"));
    }

    /** A task's state as one instance's own API gives it (app-1 is instance 1), bypassing nginx. */
    private static String state(int instance, String task) throws Exception {
        return api(Twin.instance(instance) + "/tasks/" + task).get("state").asString();
    }

    /**
     * A demo task that waits and will not start by itself for a while, so that what the test does
     * to it is not mixed up with its schedule.
     */
    private static String waitingTask(Set<String> except) throws Exception {
        AtomicReference<String> found = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(120)).ignoreExceptions().until(() -> {
            JsonNode body = api("/tasks");
            Instant now = Instant.parse(body.get("now").asString());
            found.set(body.get("tasks")
                    .valueStream()
                    .filter(t ->
                            ConsoleBrowserTest.DEMO_TASKS.contains(t.get("name").asString()))
                    .filter(t -> !except.contains(t.get("name").asString()))
                    .filter(t -> t.get("state").asString().equals("WAITING"))
                    .filter(t -> t.hasNonNull("nextRunAt")
                            && Instant.parse(t.get("nextRunAt").asString()).isAfter(now.plusSeconds(30)))
                    .map(t -> t.get("name").asString())
                    .findFirst()
                    .orElse(null));
            return found.get() != null;
        });
        return found.get();
    }

    @Test
    @Order(1)
    void aViewersTokenShowsNoButtonsOnTheBoardNorOnATasksPage() {
        signIn(VIEWER_TOKEN);
        await().atMost(Timing.SOON)
                .until(() -> "viewer"
                        .equals(browser.driver().findElement(By.id("role")).getAttribute("data-role")));
        assertThat(browser.driver().findElements(By.cssSelector("button[data-action]")))
                .isEmpty();
        assertThat(browser.driver().findElement(By.id("task-new")).isDisplayed())
                .isFalse();
        openTaskPage("audit-balances");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver()
                        .findElements(By.cssSelector("#task-runs-body tr"))
                        .isEmpty());
        assertThat(browser.driver().findElements(By.cssSelector("button[data-action]")))
                .isEmpty();
        ConsoleSession.signOut(browser);
        await().atMost(Timing.SOON)
                .until(() -> "anonymous"
                        .equals(browser.driver().findElement(By.id("role")).getAttribute("data-role")));
    }

    @Test
    @Order(2)
    void configurationTasksCanBePausedAndTriggeredFromThePageButNeitherEditedNorDeleted() {
        signIn(OPERATOR_TOKEN);
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver()
                        .findElements(By.cssSelector("button[data-action]"))
                        .isEmpty());
        // Signed in by name: the audit trail will say who did what.
        assertThat(browser.driver().findElement(By.id("role")).getText()).isEqualTo("operator · " + OPERATOR);
        assertThat(browser.driver().findElement(By.id("task-new")).isDisplayed())
                .isTrue();
        for (String task : ConsoleBrowserTest.DEMO_TASKS) {
            Set<String> shown = actions("#board-body tr[data-task='" + task + "']");
            assertThat(shown).as(task).doesNotContain("edit", "delete").contains("pause");
            assertThat(shown).as(task).containsAnyOf("trigger", "queue");
        }
        // The disabled maintenance task: nothing to pause or run.
        assertThat(actions("#board-body tr[data-task='" + ConsoleBrowserTest.RETENTION_TASK + "']"))
                .isEmpty();
        browser.screenshot(SCREENSHOTS, "console-tasks-operator");

        openTaskPage("audit-balances");
        await().atMost(Timing.SOON).until(() -> !actions("#task-actions").isEmpty());
        assertThat(actions("#task-actions")).doesNotContain("edit", "delete").contains("pause");
        assertThat(text(browser.driver().findElement(By.id("view-task")), "#task-source"))
                .isEqualTo("from the configuration");
        go("#/tasks");
    }

    @Test
    @Order(3)
    void anOperatorPausesATaskAndEveryInstanceSaysPausedWithinTwoSecondsThenResumesIt() throws Exception {
        String task = waitingTask(Set.of());
        click(task, "pause");
        browser.driver()
                .findElement(By.cssSelector("#pause-form input[name=reason]"))
                .sendKeys("e2e: partner maintenance");
        // Until an hour from now, in the viewer's local time (a datetime-local field).
        browser.js("""
                const d = new Date(Date.now() + 3600e3);
                const p = (n) => String(n).padStart(2, '0');
                document.querySelector('#pause-form input[name=until]').value =
                  `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
                """);
        browser.driver()
                .findElement(By.cssSelector("#pause-form button[type=submit]"))
                .click();
        long clicked = System.nanoTime();
        // Through every instance's own API, whichever one nginx gave the page's request: once one shows
        // the pause it is written, and every other one must show it at its first ask (none keeps an
        // older copy). How long after the click is printed, not judged: on a loaded machine the
        // browser, nginx and this test's own requests take their time (736 ms at load 17).
        await().atMost(Timing.SOON)
                .pollInterval(Duration.ofMillis(50))
                .until(() -> state(1, task).equals("PAUSED"));
        for (int instance = 2; instance <= Twin.INSTANCES; instance++) {
            assertThat(state(instance, task))
                    .as("app-%d, asked after app-1 showed the pause", instance)
                    .isEqualTo("PAUSED");
        }
        System.out.printf(
                "pause seen by every instance %d ms after the click%n", (System.nanoTime() - clicked) / 1_000_000);
        JsonNode paused = api("/tasks/" + task).get("paused");
        assertThat(paused.get("reason").asString()).isEqualTo("e2e: partner maintenance");
        assertThat(Duration.between(
                        Instant.now(), Instant.parse(paused.get("until").asString())))
                .isBetween(Duration.ofMinutes(57), Duration.ofMinutes(61));

        // The board says so in words: the state, until when, why; it offers resume instead of pause.
        await().atMost(Timing.SOON)
                .until(() -> row(task).getAttribute("data-state").equals("PAUSED"));
        assertThat(text(row(task), ".state")).isEqualTo("PAUSED");
        assertThat(text(row(task), ".note")).startsWith("until ").contains("in 5", "“e2e: partner maintenance”");
        assertThat(text(row(task), ".next")).isEqualTo("paused");
        await().atMost(Timing.SOON)
                .until(() -> actions("#board-body tr[data-task='" + task + "']").contains("resume"));
        assertThat(actions("#board-body tr[data-task='" + task + "']")).doesNotContain("pause");
        browser.screenshot(SCREENSHOTS, "console-tasks-paused");

        click(task, "resume");
        await().atMost(Timing.SOON)
                .until(() -> api("/tasks/" + task).get("paused").isNull());
        await().atMost(Timing.SOON)
                .until(() -> !row(task).getAttribute("data-state").equals("PAUSED"));

        // The task's page: the trail says who paused it, why, and who resumed it.
        openTaskPage(task);
        await().atMost(Timing.SOON)
                .until(() ->
                        events().size() >= 2 && "RESUMED".equals(events().get(0).getAttribute("data-action")));
        WebElement pause = events().get(1);
        assertThat(pause.getAttribute("data-action")).isEqualTo("PAUSED");
        assertThat(pause.getText()).contains(OPERATOR + " paused it", "e2e: partner maintenance", "until ");
        assertThat(events().get(0).getText()).contains(OPERATOR + " resumed it");
        go("#/tasks");
    }

    @Test
    @Order(4)
    void triggerRunsAWaitingTaskNow() throws Exception {
        triggered = waitingTask(Set.of());
        long before = api("/tasks/" + triggered + "/runs?limit=1")
                .get("runs")
                .get(0)
                .get("id")
                .asLong();
        click(triggered, "trigger");
        await().atMost(Timing.SOON)
                .until(() -> row(triggered).getAttribute("data-state").equals("RUNNING"));
        JsonNode run = api("/tasks/" + triggered + "/runs?limit=1").get("runs").get(0);
        assertThat(run.get("id").asLong()).isGreaterThan(before);
        assertThat(run.get("cause").asString()).isEqualTo("TRIGGER");
        // While it runs, another run can only be queued after it.
        await().atMost(Timing.SOON)
                .until(() -> actions("#board-body tr[data-task='" + triggered + "']")
                        .containsAll(Set.of("queue", "cancel")));
    }

    @Test
    @Order(5)
    void cancelAsksFirstThenInterruptsTheRun() throws Exception {
        String task = triggered; // running since the trigger above, for 40 s
        long runId = api("/tasks/" + task + "/runs?limit=1")
                .get("runs")
                .get(0)
                .get("id")
                .asLong();

        // "Keep it" leaves the run alone.
        click(task, "cancel");
        await().atMost(Timing.SOON)
                .until(() ->
                        browser.driver().findElement(By.id("confirm-dialog")).isDisplayed());
        browser.screenshot(SCREENSHOTS, "console-cancel-confirmation");
        browser.driver()
                .findElement(By.cssSelector("#confirm-dialog [data-close]"))
                .click();
        assertThat(api("/tasks/" + task + "/runs?limit=1")
                        .get("runs")
                        .get(0)
                        .get("status")
                        .asString())
                .isEqualTo("RUNNING");

        click(task, "cancel");
        await().atMost(Timing.SOON)
                .until(() ->
                        browser.driver().findElement(By.id("confirm-dialog")).isDisplayed());
        browser.driver().findElement(By.id("confirm-yes")).click();
        await().atMost(Timing.SOON)
                .until(() -> api("/runs?task=" + task + "&status=CANCELLED")
                        .get("runs")
                        .valueStream()
                        .anyMatch(r -> r.get("id").asLong() == runId));
        await().atMost(Timing.SOON)
                .until(() -> !row(task).getAttribute("data-state").equals("RUNNING"));

        // Its page shows the run CANCELLED, and who cancelled it.
        openTaskPage(task);
        By runRow = By.cssSelector("#task-runs-body tr[data-run='" + runId + "']");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElements(runRow).isEmpty()
                        && "CANCELLED"
                                .equals(browser.driver().findElement(runRow).getAttribute("data-status")));
        await().atMost(Timing.SOON)
                .until(() -> events().stream()
                        .anyMatch(e -> "CANCELLED".equals(e.getAttribute("data-action"))
                                && e.getText().contains(OPERATOR + " cancelled a run · run " + runId)));
        go("#/tasks");
    }

    @Test
    @Order(6)
    void anOperatorCreatesATaskWithTheFormRunsItAndReadsItsOutput() throws Exception {
        browser.driver().findElement(By.id("task-new")).click();
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElement(By.id("edit-dialog")).isDisplayed());
        WebElement form = browser.driver().findElement(By.id("edit-form"));
        form.findElement(By.name("name")).sendKeys(API_TASK);
        form.findElement(By.name("handler")).sendKeys("http");
        form.findElement(By.name("schedule")).sendKeys("1h");
        WebElement timeout = form.findElement(By.name("timeoutSeconds"));
        timeout.clear();
        timeout.sendKeys("10");
        WebElement params = form.findElement(By.name("params"));
        params.clear();
        params.sendKeys("{\"url\": \"" + Twin.NGINX + "/health\"}");
        form.findElement(By.cssSelector("details.more summary")).click();
        form.findElement(By.name("maxAttempts")).sendKeys("2");
        form.findElement(By.name("initialBackoffSeconds")).sendKeys("5");
        browser.screenshot(SCREENSHOTS, "console-task-form");
        form.findElement(By.cssSelector("button[type=submit]")).click();

        // Created over the API, and shown on its own page.
        await().atMost(Timing.SOON).until(() -> browser.driver().getCurrentUrl().endsWith("#/task/" + API_TASK));
        JsonNode created = api("/tasks/" + API_TASK);
        assertThat(created.get("source").asString()).isEqualTo("API");
        assertThat(created.get("handler").asString()).isEqualTo("http");
        assertThat(created.get("timeoutSeconds").asDouble()).isEqualTo(10.0);
        assertThat(created.get("retry").get("maxAttempts").asInt()).isEqualTo(2);
        assertThat(created.get("retry").get("initialBackoffSeconds").asDouble()).isEqualTo(5.0);
        await().atMost(Timing.SOON)
                .until(() -> actions("#task-actions").containsAll(Set.of("edit", "delete", "trigger", "pause")));

        // Run it now: its output and result, on its page.
        browser.driver()
                .findElement(By.cssSelector("#task-actions button[data-action=trigger]"))
                .click();
        AtomicReference<JsonNode> run = new AtomicReference<>();
        // The triggered run, not the first one a new fixed-delay task makes at once as it is created.
        await().atMost(Timing.SOON).ignoreExceptions().until(() -> {
            run.set(api("/tasks/" + API_TASK + "/runs?limit=1").get("runs").get(0));
            return run.get().get("cause").asString().equals("TRIGGER")
                    && run.get().get("status").asString().equals("SUCCEEDED");
        });
        String output = run.get().get("output").asString();
        assertThat(output).startsWith("HTTP 200");
        By runRow = By.cssSelector(
                "#task-runs-body tr[data-run='" + run.get().get("id").asLong() + "']");
        // The page reads the run again once the board's poll has seen it end.
        // The row may be drawn again by a poll while it is read: each look starts from a fresh find.
        await().atMost(Timing.SOON).ignoreExceptions().untilAsserted(() -> {
            WebElement shown = browser.driver().findElement(runRow);
            assertThat(shown.getAttribute("data-status")).isEqualTo("SUCCEEDED");
            assertThat(text(shown, "td[data-label=Cause]")).isEqualTo("triggered");
            for (WebElement details : shown.findElements(By.cssSelector("details.output, details.result"))) {
                browser.js("arguments[0].open = true", details);
            }
            assertThat(text(shown, "details.output pre")).isEqualTo(output.strip());
            assertThat(text(shown, "details.result pre")).contains("status: 200");
        });
        // Tall enough for the audit trail under the runs (the README shows this one).
        browser.resize(1400, 1300);
        try {
            browser.screenshot(SCREENSHOTS, "console-task");
        } finally {
            browser.resize(1400, 900);
        }

        // And on the runs page, filtered by the server to this task.
        browser.driver().get(Twin.NGINX + "/ui/#/runs?task=" + API_TASK);
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver()
                        .findElements(By.cssSelector("#runs-body tr"))
                        .isEmpty());
        WebElement onRunsPage = browser.driver().findElement(By.cssSelector("#runs-body tr"));
        assertThat(onRunsPage.getAttribute("data-run"))
                .isEqualTo(run.get().get("id").asString());
        onRunsPage.findElement(By.cssSelector("details.output summary")).click();
        assertThat(text(onRunsPage, "details.output pre")).isEqualTo(output.strip());
        browser.screenshot(SCREENSHOTS, "console-run-output");

        // The board tells API tasks apart, and offers to edit them.
        go("#/tasks");
        await().atMost(Timing.SOON)
                .until(() ->
                        actions("#board-body tr[data-task='" + API_TASK + "']").contains("edit"));
        assertThat(text(row(API_TASK), ".source")).isEqualTo("API");
    }

    @Test
    @Order(7)
    void editSendsIfMatchSoThatAStaleFormIsRefusedAndAFreshOneSaves() throws Exception {
        long version = api("/tasks/" + API_TASK).get("version").asLong();
        go("#/tasks");
        await().atMost(Timing.SOON)
                .ignoreExceptions()
                .until(() ->
                        actions("#board-body tr[data-task='" + API_TASK + "']").contains("edit"));
        click(API_TASK, "edit");
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElement(By.id("edit-dialog")).isDisplayed());
        // Someone else changes the task after the form was filled.
        operator("PATCH", "/tasks/" + API_TASK, "{\"jitter\": \"1s\"}");
        WebElement schedule = browser.driver().findElement(By.cssSelector("#edit-form input[name=schedule]"));
        schedule.clear();
        schedule.sendKeys("*/7 * * * *");
        browser.driver()
                .findElement(By.cssSelector("#edit-form button[type=submit]"))
                .click();
        WebElement error = browser.driver().findElement(By.id("edit-error"));
        await().atMost(Timing.SOON).until(error::isDisplayed);
        assertThat(error.getText()).startsWith("Someone else changed this task meanwhile: nothing was saved");
        assertThat(api("/tasks/" + API_TASK).get("schedule").asString()).isEqualTo("1h");
        // The refusal is the browser's only complaint: the 412 of that PATCH.
        assertThat(browser.consoleErrors()).singleElement().asString().contains("status of 412");

        browser.driver().findElement(By.cssSelector("#edit-form [data-close]")).click();
        click(API_TASK, "edit");
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElement(By.id("edit-dialog")).isDisplayed());
        assertThat(browser.driver()
                        .findElement(By.cssSelector("#edit-form input[name=jitterSeconds]"))
                        .getAttribute("value"))
                .isEqualTo("1");
        schedule = browser.driver().findElement(By.cssSelector("#edit-form input[name=schedule]"));
        schedule.clear();
        schedule.sendKeys("*/7 * * * *");
        browser.driver()
                .findElement(By.cssSelector("#edit-form button[type=submit]"))
                .click();
        await().atMost(Timing.SOON)
                .until(() ->
                        api("/tasks/" + API_TASK).get("schedule").asString().equals("*/7 * * * *"));
        JsonNode edited = api("/tasks/" + API_TASK);
        assertThat(edited.get("version").asLong()).isEqualTo(version + 2);
        assertThat(edited.get("jitterSeconds").asDouble())
                .as("untouched fields stay")
                .isEqualTo(1.0);
        await().atMost(Timing.SOON).until(() -> text(row(API_TASK), ".words").equals("every 7 minutes"));

        // The trail shows the change field by field.
        openTaskPage(API_TASK);
        await().atMost(Timing.SOON)
                .until(() ->
                        !events().isEmpty() && "UPDATED".equals(events().get(0).getAttribute("data-action")));
        assertThat(text(events().get(0), "li[data-field=schedule]")).isEqualTo("schedule: 1h → */7 * * * *");
        assertThat(events().get(0).getText()).contains(OPERATOR + " changed the task");
        go("#/tasks");
    }

    @Test
    @Order(8)
    void anOperatorLetsRunsOfATaskOverlapWithTheFormAndTakesItBack() throws Exception {
        editWithTheForm(API_TASK, form -> {
            new Select(form.findElement(By.name("overlap"))).selectByValue("ALLOW");
            WebElement max = form.findElement(By.name("maxConcurrent"));
            max.clear();
            max.sendKeys("2");
        });
        await().atMost(Timing.SOON)
                .until(() -> api("/tasks/" + API_TASK).get("overlap").asString().equals("ALLOW"));
        assertThat(api("/tasks/" + API_TASK).get("maxConcurrent").asInt()).isEqualTo(2);
        openTaskPage(API_TASK);
        await().atMost(Timing.SOON)
                .untilAsserted(() -> assertThat(definition().get("Due while running"))
                        .isEqualTo("start another run, up to its max-concurrent at once"
                                + " (2 at once across all instances)"));

        // The form opens with the limit it has; another policy drops the limit (any other with one is refused).
        editWithTheForm(API_TASK, form -> {
            assertThat(form.findElement(By.name("maxConcurrent")).getAttribute("value"))
                    .isEqualTo("2");
            new Select(form.findElement(By.name("overlap"))).selectByValue("SKIP");
        });
        await().atMost(Timing.SOON)
                .until(() -> api("/tasks/" + API_TASK).get("overlap").asString().equals("SKIP"));
        JsonNode back = api("/tasks/" + API_TASK);
        assertThat(back.get("maxConcurrent") == null
                        || back.get("maxConcurrent").isNull())
                .as("no limit left: " + back)
                .isTrue();
        go("#/tasks");
    }

    /** Opens the task's form from the board, with its more settings shown, changes it and saves it. */
    private static void editWithTheForm(String task, java.util.function.Consumer<WebElement> change) {
        go("#/tasks");
        await().atMost(Timing.SOON)
                .ignoreExceptions()
                .until(() -> actions("#board-body tr[data-task='" + task + "']").contains("edit"));
        click(task, "edit");
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElement(By.id("edit-dialog")).isDisplayed());
        WebElement form = browser.driver().findElement(By.id("edit-form"));
        browser.js("arguments[0].open = true", form.findElement(By.cssSelector("details.more")));
        change.accept(form);
        form.findElement(By.cssSelector("button[type=submit]")).click();
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElement(By.id("edit-dialog")).isDisplayed());
    }

    @Test
    @Order(9)
    void theAuditTrailIsReadPageByPage() throws Exception {
        for (int i = 0; i < 12; i++) {
            operator("POST", "/tasks/" + API_TASK + "/pause", "{\"reason\": \"round " + i + "\"}");
            operator("POST", "/tasks/" + API_TASK + "/resume", null);
        }
        List<Long> all = api("/tasks/" + API_TASK + "/events?limit=500")
                .get("events")
                .valueStream()
                .map(e -> e.get("id").asLong())
                .toList();
        assertThat(all.size()).as("more than one page of 20").isGreaterThan(20);

        openTaskPage(API_TASK);
        By more = By.id("task-events-more");
        await().atMost(Timing.SOON)
                .until(() -> events().size() == 20
                        && browser.driver().findElement(more).isDisplayed());
        assertThat(events().stream().map(e -> Long.parseLong(e.getAttribute("data-event"))))
                .containsExactlyElementsOf(all.subList(0, 20));
        for (int page = 0; page < 5 && browser.driver().findElement(more).isDisplayed(); page++) {
            int shown = events().size();
            browser.driver().findElement(more).click();
            await().atMost(Timing.SOON).until(() -> events().size() > shown);
        }
        assertThat(browser.driver().findElement(more).isDisplayed()).isFalse();
        assertThat(events().stream().map(e -> Long.parseLong(e.getAttribute("data-event"))))
                .containsExactlyElementsOf(all);
        WebElement oldest = events().getLast();
        assertThat(oldest.getAttribute("data-action")).isEqualTo("CREATED");
        assertThat(oldest.getText()).contains(OPERATOR + " created the task");
        go("#/tasks");
    }

    @Test
    @Order(10)
    void deleteAsksFirstAndTheTrailStaysReadable() throws Exception {
        openTaskPage(API_TASK);
        By delete = By.cssSelector("#task-actions button[data-action=delete]");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElements(delete).isEmpty());

        answer(delete, false);
        assertThat(send("GET", "/tasks/" + API_TASK, null, VIEWER_TOKEN, null).statusCode())
                .isEqualTo(200);

        answer(delete, true);
        await().atMost(Timing.SOON)
                .until(() -> send("GET", "/tasks/" + API_TASK, null, VIEWER_TOKEN, null)
                                .statusCode()
                        == 404);
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().getCurrentUrl().endsWith("#/tasks")
                        && browser.driver()
                                .findElements(By.cssSelector("#board-body tr[data-task='" + API_TASK + "']"))
                                .isEmpty());

        openTaskPage(API_TASK);
        await().atMost(Timing.SOON)
                .until(() ->
                        !events().isEmpty() && "DELETED".equals(events().get(0).getAttribute("data-action")));
        assertThat(browser.driver().findElement(By.id("task-missing")).getText())
                .startsWith("There is no task named “" + API_TASK + "” now");
        assertThat(actions("#task-actions")).isEmpty();
        go("#/tasks");
    }

    @Test
    @Order(11)
    void aTasksPageShowsTheOverlapAndCostItWasCreatedWith() throws Exception {
        // Signed in again, so that these tests also run on their own (-Dtest=…#method).
        signIn(OPERATOR_TOKEN);
        operator("POST", "/tasks", """
                {"name": "%s", "handler": "http", "schedule": "0 0 1 1 *", "timeout": "10s",
                 "params": {"url": "%s/health"}, "overlap": "BUFFER_ONE", "cost": 3,
                 "notify": {"on": ["FAILED"], "webhook": "https://hooks.example/%s"}}
                """.formatted(ONE_OFF_TASK, Twin.NGINX, WEBHOOK_SECRET));
        openTaskPage(ONE_OFF_TASK);
        // Drawn once the board's poll has seen the new task.
        await().atMost(Timing.SOON)
                .untilAsserted(() -> assertThat(definition())
                        .containsEntry("Due while running", "run once right after the run")
                        .containsEntry("Cost", "3 units of an instance's capacity"));
        go("#/tasks");
    }

    @Test
    @Order(12)
    void aTasksPageShowsItsNotificationsWithTheWebhookAsSchemeAndHostOnly() {
        openTaskPage(ONE_OFF_TASK);
        By settings = By.id("task-notify-settings");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElement(settings).getText().isEmpty());
        assertThat(browser.driver().findElement(settings).getText())
                .isEqualTo("Told of FAILED at https://hooks.example/… (json, the task's own)");
        assertThat(browser.driver()
                        .findElement(By.id("task-notifications-empty"))
                        .isDisplayed())
                .isTrue();
        // Nowhere on the page, the audit trail's definition included (open or not).
        assertThat(browser.driver().getPageSource()).doesNotContain(WEBHOOK_SECRET);
        go("#/tasks");
    }

    @Test
    @Order(13)
    void aPendingOneOffRunIsListedWithItsDueTimeAndCancelledFromTheTasksPage() throws Exception {
        Instant at = Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
        long runId = operator("POST", "/tasks/" + ONE_OFF_TASK + "/runs", "{\"at\": \"" + at + "\"}")
                .get("runId")
                .asLong();
        openTaskPage(ONE_OFF_TASK);
        By runRow = By.cssSelector("#task-runs-body tr[data-run='" + runId + "']");
        By withdraw = By.cssSelector("#task-runs-body tr[data-run='" + runId + "'] button[data-action=withdraw-run]");
        await().atMost(Timing.SOON)
                .until(() -> !browser.driver().findElements(withdraw).isEmpty());
        WebElement pending = browser.driver().findElement(runRow);
        assertThat(pending.getAttribute("data-status")).isEqualTo("PENDING");
        assertThat(text(pending, "td[data-label=Status]")).isEqualTo("PENDING");
        assertThat(text(pending, "td[data-label=Cause]")).isEqualTo("one-off");
        WebElement due = pending.findElement(By.cssSelector("td[data-label=Started] time"));
        assertThat(Instant.parse(due.getAttribute("datetime"))).isEqualTo(at);
        // Its due time in the viewer's local time, to the second, as the page writes times.
        String local = browser.js(
                "return new Intl.DateTimeFormat(undefined, {hour: '2-digit', minute: '2-digit', second: '2-digit'})"
                        + ".format(new Date(arguments[0]))",
                at.toString());
        assertThat(due.getText()).startsWith("due ").contains(local);
        browser.screenshot(SCREENSHOTS, "console-task-one-off-pending");

        // "Keep it" leaves it pending; yes withdraws it.
        answer(withdraw, false);
        assertThat(runStatus(runId)).isEqualTo("PENDING");
        answer(withdraw, true);
        await().atMost(Timing.SOON).until(() -> runStatus(runId).equals("CANCELLED"));
        // The page shows it without a reload: CANCELLED, nothing left to cancel.
        await().atMost(Timing.SOON)
                .until(() ->
                        "CANCELLED".equals(browser.driver().findElement(runRow).getAttribute("data-status")));
        assertThat(browser.driver().findElements(withdraw)).isEmpty();
        await().atMost(Timing.SOON)
                .until(() -> events().stream()
                        .anyMatch(e -> "RUN_WITHDRAWN".equals(e.getAttribute("data-action"))
                                && e.getText().contains(OPERATOR + " cancelled a pending run · run " + runId)));

        // Deleted, so that the next test finds the twin's own tasks only.
        operator("DELETE", "/tasks/" + ONE_OFF_TASK, null);
        go("#/tasks");
    }

    @Test
    @Order(14)
    void aTaskWhoseInstanceIsKilledIsQuarantinedAndAnOperatorResumesItFromTheBoard() throws Exception {
        // An instance whose runs will not end by themselves before the kill: their tasks lose a run each.
        AtomicReference<String> victim = new AtomicReference<>();
        AtomicReference<Set<String>> victimTasks = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(120)).ignoreExceptions().until(() -> {
            Map<String, List<JsonNode>> byInstance = api("/tasks")
                    .get("tasks")
                    .valueStream()
                    .filter(t -> t.get("state").asString().equals("RUNNING")
                            && t.get("paused").isNull())
                    .collect(Collectors.groupingBy(t -> t.get("instanceId").asString()));
            for (var e : byInstance.entrySet()) {
                if (e.getValue().stream().allMatch(t -> t.get("elapsedSeconds").asDouble() < 20)) {
                    victim.set(e.getKey());
                    victimTasks.set(e.getValue().stream()
                            .map(t -> t.get("name").asString())
                            .collect(Collectors.toSet()));
                    return true;
                }
            }
            return false;
        });
        twin.kill(victim.get());

        String task = victimTasks.get().iterator().next();
        await().atMost(Timing.SOON)
                .until(() -> api("/tasks/" + task).get("state").asString().equals("QUARANTINED"));
        await().atMost(Timing.SOON)
                .until(() -> row(task).getAttribute("data-state").equals("QUARANTINED"));
        assertThat(text(row(task), ".state")).isEqualTo("QUARANTINED");
        assertThat(text(row(task), ".note"))
                .startsWith("since ")
                .endsWith("its runs were lost again and again; resume to run it");
        assertThat(text(row(task), ".next")).isEqualTo("not until resumed");
        await().atMost(Timing.SOON)
                .until(() -> actions("#board-body tr[data-task='" + task + "']").equals(Set.of("resume")));
        browser.screenshot(SCREENSHOTS, "console-tasks-quarantined");

        // Someone is told: Prometheus fires StarPetsTaskQuarantined for the task and Alertmanager posts
        // it to the webhook, naming the task, with a link to its page in the console, which opens it.
        JsonNode alert = twin.alerts().awaitFiring("StarPetsTaskQuarantined", task);
        assertThat(alert.get("labels").get("severity").asString()).isEqualTo("critical");
        assertThat(alert.get("annotations").get("summary").asString())
                .isEqualTo("Task " + task + " is quarantined: its runs were lost again and again");
        String link = alert.get("annotations").get("console_url").asString();
        assertThat(link).isEqualTo(Twin.NGINX + "/ui/#/task/" + task);
        assertThat(browser.driver().getCurrentUrl()).startsWith(link.substring(0, link.indexOf('#')));
        go(link.substring(link.indexOf('#')));
        await().atMost(Timing.SOON)
                .until(() -> browser.driver()
                        .findElement(By.id("task-title"))
                        .getText()
                        .equals(task));
        go("#/tasks");

        click(task, "resume");
        await().atMost(Timing.SOON)
                .until(() -> api("/tasks/" + task).get("quarantinedAt").isNull());
        await().atMost(Timing.SOON)
                .until(() -> !row(task).getAttribute("data-state").equals("QUARANTINED"));

        openTaskPage(task);
        await().atMost(Timing.SOON)
                .until(() ->
                        events().size() >= 2 && "RESUMED".equals(events().get(0).getAttribute("data-action")));
        assertThat(events().get(0).getText()).contains(OPERATOR + " resumed it · from quarantine");
        assertThat(events().get(1).getAttribute("data-action")).isEqualTo("QUARANTINED");
        assertThat(events().get(1).getText()).contains("scheduler:");
    }
}
