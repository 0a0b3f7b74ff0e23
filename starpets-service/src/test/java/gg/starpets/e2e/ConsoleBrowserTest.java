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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
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
import org.openqa.selenium.Keys;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.Select;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The console in a real browser (Debian's headless Chromium) against the native twin: five instances
 * behind nginx. What needs no token: the board, the runs, the instances, an instance's death seen live,
 * and a viewer without buttons. Screenshots of every page go to target/screenshots.
 */
@Tag("e2e")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {

    static final Set<String> DEMO_TASKS = Set.of(
            "report-daily-sales",
            "sync-pet-catalog",
            "recalc-leaderboard",
            "expire-trade-offers",
            "send-digest-emails",
            "rebuild-search-index",
            "cleanup-sessions",
            "refresh-price-cache",
            "audit-balances",
            "reconcile-payouts");
    /** The maintenance task beside the demo tasks, switched off on the twin: shown DISABLED. */
    static final String RETENTION_TASK = "prune-run-history";

    static final int BOARD_ROWS = DEMO_TASKS.size() + 1;
    static final Duration TASK_DURATION = Duration.ofSeconds(40);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Path SCREENSHOTS =
            Path.of(System.getProperty("starpets.jar")).toAbsolutePath().resolveSibling("screenshots");

    private static Twin twin;
    private static Browser browser;

    @BeforeAll
    static void start() throws Exception {
        twin = Twin.start("e2e-console-twin", Map.of("TASK_DURATION", TASK_DURATION.toSeconds() + "s"));
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
    void noScriptErrorsAndNoPolicyViolations() {
        assertThat(browser.consoleErrors()).isEmpty();
    }

    static JsonNode api(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create(url))
                        .header(
                                "Authorization",
                                "Bearer " + Twin.readerOf(URI.create(url).getPath()))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private static List<WebElement> rows() {
        return browser.driver().findElements(By.cssSelector("#board-body tr"));
    }

    private static String text(WebElement row, String selector) {
        return row.findElement(By.cssSelector(selector)).getText().strip();
    }

    /** Each task's progress bar value, for the rows that show one. */
    private static Map<String, Double> progress() {
        Map<String, Object> values = browser.js("""
                const out = {};
                for (const tr of document.querySelectorAll('#board-body tr[data-state="RUNNING"]')) {
                  const p = tr.querySelector('progress');
                  if (p.hasAttribute('value')) out[tr.dataset.task] = p.value;
                }
                return out;
                """);
        Map<String, Double> result = new HashMap<>();
        values.forEach((k, v) -> result.put(k, ((Number) v).doubleValue()));
        return result;
    }

    @Test
    @Order(1)
    void aBrowserAtTheRootLandsOnTheBoardOfTheTenDemoTasksWithTheirInstancesAndMovingProgressBars() {
        browser.driver().get(Twin.NGINX + "/");
        assertThat(browser.driver().getCurrentUrl()).isEqualTo(Twin.NGINX + "/ui/");
        // Reading needs a token: a viewer's.
        ConsoleSession.signIn(browser, Twin.VIEWER_TOKEN, BOARD_ROWS);
        assertThat(rows().stream().map(r -> r.getAttribute("data-task")))
                .containsExactlyInAnyOrderElementsOf(Stream.concat(DEMO_TASKS.stream(), Stream.of(RETENTION_TASK))
                        .toList());

        // A disabled task says so in words, and when it runs next: never.
        WebElement disabled = browser.driver().findElement(By.cssSelector("tr[data-task=" + RETENTION_TASK + "]"));
        assertThat(text(disabled, ".state")).isEqualTo("DISABLED");
        assertThat(text(disabled, ".note")).isEqualTo("disabled in its definition");
        assertThat(text(disabled, ".next")).isEqualTo("never (disabled)");

        // Running tasks show the instance that runs them.
        await().atMost(Duration.ofSeconds(90))
                .until(() -> rows().stream()
                                .filter(r -> "RUNNING".equals(r.getAttribute("data-state")))
                                .count()
                        >= 2);
        // Each row's state and instance read together: a run may end between two separate reads.
        List<Map<String, String>> board = browser.js("""
                return [...document.querySelectorAll('#board-body tr')].map((tr) => ({
                  task: tr.dataset.task,
                  state: tr.querySelector('.state').innerText.trim(),
                  instance: tr.querySelector('.instance').innerText.trim(),
                }));
                """);
        for (Map<String, String> row : board) {
            if (RETENTION_TASK.equals(row.get("task"))) {
                continue;
            }
            assertThat(row.get("state")).as(row.get("task")).isIn("RUNNING", "WAITING");
            if (row.get("state").equals("RUNNING")) {
                assertThat(row.get("instance")).as(row.get("task")).matches("app-[1-5]");
            } else {
                assertThat(row.get("instance")).as(row.get("task")).isEqualTo("—");
            }
        }

        // A progress bar that moves without a reload: some task still running shows a larger value.
        browser.js("window.__sameDocument = true");
        AtomicReference<Map<String, Double>> before = new AtomicReference<>(progress());
        await().atMost(Timing.SOON).until(() -> {
            Map<String, Double> now = progress();
            boolean advanced = now.entrySet().stream()
                    .anyMatch(e -> before.get().containsKey(e.getKey())
                            && e.getValue() > before.get().get(e.getKey()));
            if (!advanced && now.keySet().stream().noneMatch(before.get()::containsKey)) {
                before.set(now); // every bar seen before has ended: measure against the new ones
            }
            return advanced;
        });

        // The schedule in words, the next run as local time and a countdown, the strip of outcomes.
        Map<String, String> words = rows().stream()
                .collect(Collectors.toMap(r -> r.getAttribute("data-task"), r -> text(r, "td:nth-child(6)")));
        assertThat(words)
                .containsEntry("report-daily-sales", "every 2 minutes")
                .containsEntry("sync-pet-catalog", "30 s after each run")
                .containsEntry("expire-trade-offers", "45 s after each run")
                .containsEntry("cleanup-sessions", "every hour")
                .containsEntry("reconcile-payouts", "every 10 minutes")
                .containsEntry("send-digest-emails", "every 5 minutes (Europe/Moscow)");
        await().atMost(Duration.ofSeconds(60))
                .until(() -> rows().stream()
                        .anyMatch(r -> r.findElements(By.cssSelector(".strip i[data-status=SUCCEEDED]"))
                                        .size()
                                > 0));
        WebElement hourly = browser.driver().findElement(By.cssSelector("tr[data-task=cleanup-sessions]"));
        assertThat(text(hourly, ".next")).contains(":00:00").doesNotContain("Z");
        assertThat(text(hourly, ".next-in")).matches("· in (\\d+ min( \\d+ s)?|\\d+ s)");
        assertThat((Boolean) browser.js("return window.__sameDocument === true"))
                .isTrue();
        browser.screenshot(SCREENSHOTS, "console-tasks");
    }

    @Test
    @Order(2)
    void theRunsPageShowsRunsWithDurationAndAttemptAndFiltersThem() throws Exception {
        browser.driver().get(Twin.NGINX + "/ui/#/runs");
        By runRows = By.cssSelector("#runs-body tr");
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElements(runRows).size() >= DEMO_TASKS.size());
        // Read in one go: the row of a run in progress is drawn again at every refresh (its duration).
        Map<String, String> first = browser.js("""
                const tr = document.querySelector('#runs-body tr');
                const cell = (label) => tr.querySelector(`td[data-label=${label}]`).innerText.trim();
                return { instance: cell('Instance'), attempt: cell('Attempt'), duration: cell('Duration') };
                """);
        assertThat(first.get("instance")).matches("app-[1-5]");
        assertThat(first.get("attempt")).matches("\\d+");
        assertThat(first.get("duration")).matches("[\\d.]+ s|\\d+ min( \\d+ s)?");
        browser.screenshot(SCREENSHOTS, "console-runs");

        WebElement task = browser.driver().findElement(By.cssSelector("#run-filters input[name=task]"));
        task.sendKeys("sync-pet-catalog");
        new Select(browser.driver().findElement(By.cssSelector("#run-filters select[name=status]")))
                .selectByVisibleText("SUCCEEDED");
        task.sendKeys(Keys.ENTER);
        await().atMost(Timing.SOON).until(() -> {
            List<WebElement> shown = browser.driver().findElements(runRows);
            return browser.driver().getCurrentUrl().contains("task=sync-pet-catalog")
                    && !shown.isEmpty()
                    && shown.stream()
                            .allMatch(r -> "sync-pet-catalog".equals(r.getAttribute("data-task"))
                                    && "SUCCEEDED".equals(r.getAttribute("data-status")));
        });

        // A time window in the viewer's local time, applied by the server (GET /runs?from=&to=): the
        // page shows exactly the runs the API gives for that window. It ends just after the newest run
        // started, so it is never empty (the demo tasks start in bursts two minutes apart), and both
        // sides are read again until they agree (a claim still committing may join it once).
        JsonNode newest = api(Twin.NGINX + "/runs?limit=1").get("runs").get(0);
        Instant to = Instant.parse(newest.get("startedAt").asString())
                .truncatedTo(ChronoUnit.SECONDS)
                .plusSeconds(1);
        Instant from = to.minusSeconds(180);
        String fromLocal = browser.js(LOCAL_TIME, from.toString());
        String toLocal = browser.js(LOCAL_TIME, to.toString());
        browser.js("location.hash = arguments[0]", "#/runs?from=" + fromLocal + "&to=" + toLocal);
        List<Long> expected = new java.util.ArrayList<>();
        await().atMost(Timing.SOON).ignoreExceptions().until(() -> {
            expected.clear();
            api(Twin.NGINX + "/runs?limit=50&from=" + from + "&to=" + to)
                    .get("runs")
                    .valueStream()
                    .forEach(r -> expected.add(r.get("id").asLong()));
            List<Long> shown = browser.driver().findElements(runRows).stream()
                    .map(r -> Long.parseLong(r.getAttribute("data-run")))
                    .toList();
            return !expected.isEmpty() && shown.equals(expected);
        });
        List<String> starts = browser.js(
                "return [...document.querySelectorAll('#runs-body tr')].map((tr) => tr.querySelector('time').dateTime)");
        for (String started : starts) {
            assertThat(Instant.parse(started)).isBetween(from, to.plusSeconds(1));
        }
        assertThat(browser.driver()
                        .findElement(By.cssSelector("#run-filters input[name=from]"))
                        .getAttribute("value"))
                .isEqualTo(fromLocal);
        assertThat((Boolean) browser.js("""
                        return performance.getEntriesByType('resource').some(e =>
                          e.name.includes('/runs?') && e.name.includes('from=') && e.name.includes('to='));
                        """))
                .as("the window is sent to the server")
                .isTrue();
        browser.screenshot(SCREENSHOTS, "console-runs-window");
    }

    /** An ISO instant as a datetime-local value in the browser's own time zone. */
    private static final String LOCAL_TIME = """
            const d = new Date(arguments[0]);
            const p = (n) => String(n).padStart(2, '0');
            return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
            """;

    @Test
    @Order(3)
    void theInstancesPageShowsEveryInstanceWithItsHeartbeatVersionAndTasks() {
        browser.driver().get(Twin.NGINX + "/ui/#/instances");
        By cards = By.cssSelector("#instances .instance-card");
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElements(cards).stream()
                                .filter(c -> "RUNNING".equals(c.getAttribute("data-state")))
                                .count()
                        == Twin.INSTANCES);
        for (WebElement card : browser.driver().findElements(cards)) {
            assertThat(card.getAttribute("data-instance")).matches("app-[1-5]");
            String facts = card.findElement(By.tagName("dl")).getText();
            assertThat(facts).containsPattern("Heartbeat\\s+[\\d.]+ s ago").contains("Version");
        }
        // What each runs, as the API says (read around the page's view: tasks may change hands).
        await().atMost(Timing.SOON).ignoreExceptions().until(() -> {
            Map<String, String> before = owners();
            Map<String, String> shown = shownOwners();
            return !shown.isEmpty() && shown.equals(before) && before.equals(owners());
        });
        browser.screenshot(SCREENSHOTS, "console-instances");
    }

    /** Task -> the instance card it is listed under on the instances page, read in one go. */
    private static Map<String, String> shownOwners() {
        Map<String, Object> shown = browser.js("""
                const out = {};
                for (const li of document.querySelectorAll('#instances .runs-here li[data-task]')) {
                  out[li.dataset.task] = li.closest('li[data-instance]').dataset.instance;
                }
                return out;
                """);
        Map<String, String> result = new HashMap<>();
        shown.forEach((k, v) -> result.put(k, (String) v));
        return result;
    }

    /** Task -> the instance running it, through nginx. */
    static Map<String, String> owners() throws Exception {
        return api(Twin.NGINX + "/tasks")
                .get("tasks")
                .valueStream()
                .filter(t -> t.hasNonNull("instanceId"))
                .collect(Collectors.toMap(
                        t -> t.get("name").asString(), t -> t.get("instanceId").asString()));
    }

    @Test
    @Order(4)
    void aKilledInstanceTurnsGoneAndItsTasksShowUpOnOthersWithoutAReload() throws Exception {
        browser.driver().get(Twin.NGINX + "/ui/#/instances");
        browser.js("window.__sameDocument = true");
        // A victim whose runs will not end by themselves before they are recovered.
        AtomicReference<String> victim = new AtomicReference<>();
        AtomicReference<Set<String>> victimTasks = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(120)).ignoreExceptions().until(() -> {
            JsonNode tasks = api(Twin.NGINX + "/tasks").get("tasks");
            Map<String, List<JsonNode>> byInstance = tasks.valueStream()
                    .filter(t -> t.hasNonNull("instanceId"))
                    .collect(Collectors.groupingBy(t -> t.get("instanceId").asString()));
            for (var e : byInstance.entrySet()) {
                if (e.getValue().stream()
                        .allMatch(t -> t.get("elapsedSeconds").asDouble() < TASK_DURATION.toSeconds() - 20)) {
                    victim.set(e.getKey());
                    victimTasks.set(e.getValue().stream()
                            .map(t -> t.get("name").asString())
                            .collect(Collectors.toSet()));
                    return true;
                }
            }
            return false;
        });
        String gone = victim.get();
        By victimCard = By.cssSelector("#instances li[data-instance='" + gone + "']");
        await().atMost(Timing.SOON)
                .until(() -> browser.driver()
                                .findElement(victimCard)
                                .findElements(By.cssSelector(".runs-here li[data-task]"))
                                .size()
                        >= 1);

        twin.kill(gone);

        await().atMost(Timing.SOON)
                .until(() ->
                        "GONE".equals(browser.driver().findElement(victimCard).getAttribute("data-state")));
        await().atMost(Timing.SOON).until(() -> {
            Map<String, String> shown = shownOwners();
            return victimTasks.get().stream()
                    .allMatch(t -> shown.containsKey(t) && !shown.get(t).equals(gone));
        });
        String victimCardText = browser.driver().findElement(victimCard).getText();
        assertThat(victimCardText).contains("GONE").contains("nothing (gone)");
        browser.screenshot(SCREENSHOTS, "console-instances-after-kill");

        // On the board the same tasks say where they came from.
        browser.driver().findElement(By.cssSelector("[data-nav=tasks]")).click();
        for (String task : victimTasks.get()) {
            WebElement row = browser.driver().findElement(By.cssSelector("tr[data-task='" + task + "']"));
            await().atMost(Timing.SOON).until(() -> text(row, ".moved").equals("recovered from " + gone));
            assertThat(text(row, ".instance")).matches("app-[1-5]").isNotEqualTo(gone);
        }
        browser.screenshot(SCREENSHOTS, "console-tasks-after-kill");
        assertThat((Boolean) browser.js("return window.__sameDocument === true"))
                .isTrue();

        // And the lost runs, with their error, on the runs page.
        browser.driver().get(Twin.NGINX + "/ui/#/runs?status=LOST&instance=" + gone);
        await().atMost(Timing.SOON)
                .until(() -> browser.driver()
                                .findElements(By.cssSelector("#runs-body tr"))
                                .size()
                        == victimTasks.get().size());
        for (WebElement row : browser.driver().findElements(By.cssSelector("#runs-body tr"))) {
            assertThat(text(row, ".run-info")).contains("instance " + gone + " is gone");
        }
    }

    @Test
    @Order(5)
    void withoutATokenThePageShowsNoDataAndAViewerSeesNoActionButtonsAnywhere() throws Exception {
        assertThat(api(Twin.NGINX + "/whoami").get("role").asString()).isEqualTo("viewer");
        ConsoleSession.signOut(browser);
        // A page loaded without a token draws no task at all, only how to get in.
        browser.driver().get(Twin.NGINX + "/ui/");
        await().atMost(Duration.ofSeconds(10))
                .until(() ->
                        browser.driver().findElement(By.id("banner")).getText().contains("Reading needs a token"));
        assertThat(browser.driver().findElement(By.id("role")).getAttribute("data-role"))
                .isEqualTo("anonymous");
        assertThat(rows()).isEmpty();
        assertThat(browser.driver().findElement(By.id("sign-in")).isDisplayed()).isTrue();
        ConsoleSession.expectOnlyRefusals(browser);

        ConsoleSession.signIn(browser, Twin.VIEWER_TOKEN, BOARD_ROWS);
        for (String view : new String[] {"tasks", "task", "runs", "instances"}) {
            browser.driver().get(Twin.NGINX + "/ui/#/" + (view.equals("task") ? "task/audit-balances" : view));
            await().atMost(Timing.SOON)
                    .until(() -> browser.driver()
                            .findElement(By.id("role"))
                            .getAttribute("data-role")
                            .equals("viewer"));
            await().atMost(Timing.SOON)
                    .until(() -> !browser.driver()
                            .findElements(By.cssSelector("#view-" + view + " tr, #view-" + view + " .instance-card"))
                            .isEmpty());
            assertThat(browser.driver().findElements(By.cssSelector("button[data-action]")))
                    .as(view)
                    .isEmpty();
            assertThat(browser.driver().findElement(By.id("task-new")).isDisplayed())
                    .isFalse();
            assertThat(browser.driver().findElement(By.id("sign-out")).isDisplayed())
                    .isTrue();
        }
    }

    @Test
    @Order(6)
    void onAPhoneInTheDarkTheBoardIsCardsAndTheKeyboardReachesEverything() {
        browser.resize(390, 844);
        browser.colorScheme("dark");
        try {
            browser.driver().get(Twin.NGINX + "/ui/");
            await().atMost(Timing.SOON).until(() -> rows().size() == BOARD_ROWS);
            assertThat((String) browser.js("return getComputedStyle(document.querySelector('#board thead')).display"))
                    .isEqualTo("none");
            assertThat((String) browser.js("return getComputedStyle(document.querySelector('#board-body tr')).display"))
                    .isEqualTo("block");
            // A dark background: every channel of rgb(r, g, b) low.
            String background = browser.js("return getComputedStyle(document.body).backgroundColor");
            assertThat(background).matches("rgb\\(([0-4]?\\d), ([0-4]?\\d), ([0-4]?\\d)\\)");
            browser.screenshot(SCREENSHOTS, "console-phone-dark");
        } finally {
            browser.colorScheme("light");
            browser.resize(1400, 900);
        }

        // Keyboard: the skip link comes first in the tab order (nothing jumps the queue with a positive
        // tabindex); from it, Tab goes through real links and buttons, each with a visible focus ring.
        browser.driver().get(Twin.NGINX + "/ui/");
        await().atMost(Timing.SOON).until(() -> rows().size() == BOARD_ROWS);
        assertThat((String) browser.js("""
                        const first = document.querySelector('a[href], button:not([hidden]), input, select, textarea');
                        return document.querySelectorAll('[tabindex]:not([tabindex="-1"])').length === 0
                          ? first.className : 'positive tabindex';
                        """)).isEqualTo("skip");
        browser.js("document.querySelector('.skip').focus()");
        Actions keys = new Actions(browser.driver());
        String runsLink = null;
        for (int i = 0; i < 6 && runsLink == null; i++) {
            keys.sendKeys(Keys.TAB).perform();
            Map<String, Object> focused = browser.js("""
                    const e = document.activeElement;
                    return { tag: e.tagName, nav: e.dataset.nav || '', outline: getComputedStyle(e).outlineStyle };
                    """);
            assertThat(focused.get("tag")).isIn("A", "BUTTON", "INPUT");
            assertThat(focused.get("outline")).isNotEqualTo("none");
            if ("runs".equals(focused.get("nav"))) {
                runsLink = "runs";
            }
        }
        assertThat(runsLink).isEqualTo("runs");
        keys.sendKeys(Keys.ENTER).perform();
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().getCurrentUrl().endsWith("#/runs")
                        && browser.driver().findElement(By.id("view-runs")).isDisplayed());
    }

    @Test
    @Order(7)
    void everyTaskStateIsToldInWordsAndBySymbolAndBorderNotByColourAlone() {
        browser.driver().get(Twin.NGINX + "/ui/");
        await().atMost(Timing.SOON).until(() -> rows().size() == BOARD_ROWS);
        // The badge of each state, as the board styles it: its ::before symbol and its border.
        Map<String, Object> looks = browser.js("""
                const out = {};
                for (const s of ['RUNNING', 'WAITING', 'PAUSED', 'DISABLED', 'QUARANTINED', 'STUCK']) {
                  const span = document.createElement('span');
                  span.className = `state state-${s.toLowerCase()}`;
                  span.textContent = s;
                  document.querySelector('#board-body td[data-label=State]').append(span);
                  const before = getComputedStyle(span, '::before').content;
                  const style = getComputedStyle(span);
                  out[s] = `${before}|${style.borderTopStyle}|${style.borderTopWidth}|${style.backgroundColor}`;
                  span.remove();
                }
                return out;
                """);
        assertThat(looks).hasSize(6);
        assertThat(looks.values().stream().map(v -> ((String) v).split("\\|")[0]))
                .as("a symbol of its own for each state")
                .doesNotHaveDuplicates()
                .noneMatch(v -> v.equals("none") || v.equals("normal"));

        // The notes of states the twin cannot produce on demand (a handler that ignores its timeout,
        // a retired task), from the module the board and the task page use.
        Map<String, Object> notes = browser.js("""
                return import('/ui/states.js').then((m) => ({
                  stuck: m.stateNote({ state: 'STUCK', instanceId: 'app-3' }),
                  retired: m.stateNote({ state: 'DISABLED', retired: true }),
                  pausedWhileRunning: m.stateNote({ state: 'RUNNING', instanceId: 'app-1',
                    paused: { since: '2026-11-29T10:00:00Z', until: null, reason: 'deploy' } }),
                  queued: m.stateNote({ state: 'RUNNING', instanceId: 'app-1', triggerQueued: true }),
                }));
                """);
        assertThat(notes)
                .containsEntry("stuck", "timed out, still executing on app-3; cancel the run or wait")
                .containsEntry("retired", "retired: no live instance defines it any more")
                .containsEntry("pausedWhileRunning", "paused until resumed: no new run after this one · “deploy”")
                .containsEntry("queued", "a run is queued after this one");
    }
}
