package gg.starpets.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Browser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The operators' actions from the console, in a real browser against the twin: sign-in with a
 * token, pause (seen as PAUSED through another copy's API within 2 s), resume, trigger, cancel (with
 * a confirmation), edit, a run's output, and a viewer's token that shows no button. Needs the
 * management API and its roles (issue 12).
 */
@Tag("e2e")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleActionsBrowserTest {

    private static final String OPERATOR_TOKEN = "e2e-operator-token-0123456789";
    private static final String VIEWER_TOKEN = "e2e-viewer-token-0123456789";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Path SCREENSHOTS =
            Path.of(System.getProperty("starpets.jar")).toAbsolutePath().resolveSibling("screenshots");

    private static Twin twin;
    private static Browser browser;

    @BeforeAll
    static void start() throws Exception {
        twin = Twin.start(
                "e2e-console-actions-twin",
                Map.of(
                        "TASK_DURATION", "40s",
                        "STARPETS_OPERATOR_TOKENS", OPERATOR_TOKEN,
                        "STARPETS_VIEWER_TOKENS", VIEWER_TOKEN));
        browser = Browser.start(1400, 900);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (browser != null) {
                browser.close();
            }
        } finally {
            if (twin != null) {
                twin.close();
            }
        }
    }

    @AfterEach
    void noScriptErrors() {
        assertThat(browser.consoleErrors()).isEmpty();
    }

    private static JsonNode api(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(
                HttpRequest.newBuilder(URI.create(url))
                        .header("Authorization", "Bearer " + VIEWER_TOKEN)
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private static void signIn(String token) {
        browser.driver().get(Twin.NGINX + "/ui/");
        await().atMost(Duration.ofSeconds(20))
                .until(() -> browser.driver()
                                .findElements(By.cssSelector("#board-body tr"))
                                .size()
                        == 10);
        browser.driver().findElement(By.id("sign-in")).click();
        browser.driver().findElement(By.id("token-input")).sendKeys(token);
        browser.driver()
                .findElement(By.cssSelector("#token-form button[type=submit]"))
                .click();
    }

    private static WebElement row(String task) {
        return browser.driver().findElement(By.cssSelector("#board-body tr[data-task='" + task + "']"));
    }

    private static void click(String task, String action) {
        row(task)
                .findElement(By.cssSelector("button[data-action=" + action + "]"))
                .click();
    }

    @Test
    @Order(1)
    void aViewersTokenShowsNoButtons() {
        signIn(VIEWER_TOKEN);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> "viewer"
                        .equals(browser.driver().findElement(By.id("role")).getAttribute("data-role")));
        assertThat(browser.driver().findElements(By.cssSelector("button[data-action]")))
                .isEmpty();
        browser.driver().findElement(By.id("sign-out")).click();
    }

    @Test
    @Order(2)
    void anOperatorPausesATaskAndAnotherCopySaysPausedWithinTwoSecondsThenResumesIt() throws Exception {
        signIn(OPERATOR_TOKEN);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !browser.driver()
                        .findElements(By.cssSelector("button[data-action]"))
                        .isEmpty());
        browser.screenshot(SCREENSHOTS, "console-tasks-operator");
        String task = "audit-balances";
        click(task, "pause");
        browser.driver()
                .findElement(By.cssSelector("#pause-form input[name=reason]"))
                .sendKeys("e2e: pause test");
        browser.driver()
                .findElement(By.cssSelector("#pause-form button[type=submit]"))
                .click();
        long clicked = System.nanoTime();
        // Through copies other than whichever one nginx gave the page's request.
        await().atMost(Duration.ofSeconds(2))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    for (int copy = 1; copy <= Twin.COPIES; copy++) {
                        if (!api(Twin.copy(copy) + "/tasks/" + task)
                                .get("state")
                                .asString()
                                .equals("PAUSED")) {
                            return false;
                        }
                    }
                    return true;
                });
        System.out.printf(
                "pause seen by every copy %d ms after the click%n", (System.nanoTime() - clicked) / 1_000_000);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> row(task).getAttribute("data-state").equals("PAUSED"));

        click(task, "resume");
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !api(Twin.NGINX + "/tasks/" + task)
                        .get("state")
                        .asString()
                        .equals("PAUSED"));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !row(task).getAttribute("data-state").equals("PAUSED"));
    }

    @Test
    @Order(3)
    void triggerRunsAWaitingTaskNow() throws Exception {
        String task = "archive-old-runs"; // 03:00 daily: waiting after its first run
        await().atMost(Duration.ofSeconds(90))
                .until(() -> row(task).getAttribute("data-state").equals("WAITING"));
        long runsBefore = api(Twin.NGINX + "/tasks/" + task + "/runs?limit=500")
                .get("runs")
                .size();
        click(task, "trigger");
        await().atMost(Duration.ofSeconds(5))
                .until(() -> row(task).getAttribute("data-state").equals("RUNNING"));
        assertThat(api(Twin.NGINX + "/tasks/" + task + "/runs?limit=500")
                        .get("runs")
                        .size())
                .isGreaterThan((int) runsBefore);
    }

    @Test
    @Order(4)
    void cancelAsksFirstThenInterruptsTheRun() throws Exception {
        String task = "archive-old-runs"; // running since the trigger above
        await().atMost(Duration.ofSeconds(5))
                .until(() -> row(task).getAttribute("data-state").equals("RUNNING"));
        long runId = api(Twin.NGINX + "/tasks/" + task + "/runs?limit=1")
                .get("runs")
                .get(0)
                .get("id")
                .asLong();

        // "Keep it" leaves the run alone.
        click(task, "cancel");
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        browser.driver().findElement(By.id("confirm-dialog")).isDisplayed());
        browser.screenshot(SCREENSHOTS, "console-cancel-confirmation");
        browser.driver()
                .findElement(By.cssSelector("#confirm-dialog [data-close]"))
                .click();
        assertThat(api(Twin.NGINX + "/tasks/" + task + "/runs?limit=1")
                        .get("runs")
                        .get(0)
                        .get("status")
                        .asString())
                .isEqualTo("RUNNING");

        click(task, "cancel");
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        browser.driver().findElement(By.id("confirm-dialog")).isDisplayed());
        browser.driver().findElement(By.id("confirm-yes")).click();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> api(Twin.NGINX + "/runs?limit=200")
                        .get("runs")
                        .valueStream()
                        .anyMatch(r -> r.get("id").asLong() == runId
                                && r.get("status").asString().equals("CANCELLED")));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !row(task).getAttribute("data-state").equals("RUNNING"));
    }

    @Test
    @Order(5)
    void editChangesTheScheduleWithIfMatch() throws Exception {
        String task = "cleanup-sessions";
        click(task, "edit");
        await().atMost(Duration.ofSeconds(5))
                .until(() -> browser.driver().findElement(By.id("edit-dialog")).isDisplayed());
        WebElement schedule = browser.driver().findElement(By.cssSelector("#edit-form input[name=schedule]"));
        schedule.clear();
        schedule.sendKeys("*/7 * * * *");
        browser.driver()
                .findElement(By.cssSelector("#edit-form button[type=submit]"))
                .click();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> api(Twin.NGINX + "/tasks/" + task)
                        .get("schedule")
                        .asString()
                        .equals("*/7 * * * *"));
        await().atMost(Duration.ofSeconds(10))
                .until(() -> row(task)
                        .findElement(By.cssSelector(".words"))
                        .getText()
                        .equals("every 7 minutes"));
    }

    @Test
    @Order(6)
    void aRunsOutputIsShownOnTheRunsPage() throws Exception {
        // Any run that has written output (handlers of the handlers issue write some).
        AtomicReference<JsonNode> withOutput = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
            withOutput.set(api(Twin.NGINX + "/runs?limit=500")
                    .get("runs")
                    .valueStream()
                    .filter(r -> r.hasNonNull("output")
                            && !r.get("output").asString().isBlank())
                    .findFirst()
                    .orElse(null));
            return withOutput.get() != null;
        });
        JsonNode run = withOutput.get();
        browser.driver().get(Twin.NGINX + "/ui/#/runs?task=" + run.get("task").asString());
        By row = By.cssSelector("#runs-body tr[data-run='" + run.get("id").asLong() + "']");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !browser.driver().findElements(row).isEmpty());
        WebElement output = browser.driver().findElement(row).findElement(By.cssSelector("details.output"));
        output.findElement(By.tagName("summary")).click();
        assertThat(output.findElement(By.tagName("pre")).getText().strip())
                .isEqualTo(run.get("output").asString().strip());
        browser.screenshot(SCREENSHOTS, "console-run-output");
    }
}
