package gg.starpets.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gg.starpets.support.Browser;
import gg.starpets.support.Timing;
import org.awaitility.Awaitility;
import org.openqa.selenium.By;

/**
 * Signing in and out of the console in a test's browser. Every read needs a token, so a page loaded
 * without one is refused (401) until someone signs in: those refusals, and only those, are what the
 * browser logs meanwhile.
 */
final class ConsoleSession {

    private ConsoleSession() {}

    /** Loads the console signed out, signs in with {@code token}, and waits until the board shows its rows. */
    static void signIn(Browser browser, String token, int boardRows) {
        // Signed out first (a file of the console without a script, so nothing reads meanwhile).
        browser.driver().get(Twin.NGINX + "/ui/favicon.svg");
        browser.js("sessionStorage.clear()");
        browser.driver().get(Twin.NGINX + "/ui/");
        await().atMost(Timing.SOON)
                .until(() -> "anonymous"
                                .equals(browser.driver()
                                        .findElement(By.id("role"))
                                        .getAttribute("data-role"))
                        && browser.driver().findElement(By.id("sign-in")).isDisplayed());
        browser.driver().findElement(By.id("sign-in")).click();
        browser.driver().findElement(By.id("token-input")).sendKeys(token);
        browser.driver()
                .findElement(By.cssSelector("#token-form button[type=submit]"))
                .click();
        await().atMost(Timing.SOON)
                .until(() -> browser.driver()
                                .findElements(By.cssSelector("#board-body tr"))
                                .size()
                        == boardRows);
        expectOnlyRefusals(browser);
    }

    /** Signs out and waits until the page says that reading needs a token. */
    static void signOut(Browser browser) {
        browser.driver().findElement(By.id("sign-out")).click();
        await().atMost(Timing.SOON)
                .until(() ->
                        browser.driver().findElement(By.id("banner")).getText().contains("Reading needs a token"));
        expectOnlyRefusals(browser);
    }

    /** What the browser logged so far (and forgets): nothing but 401s of reads made without a token. */
    static void expectOnlyRefusals(Browser browser) {
        assertThat(browser.consoleErrors()).allSatisfy(e -> assertThat(e).contains("status of 401"));
    }

    /** Goes to a task's page without reloading the console, and waits until it shows that task. */
    static void openTaskPage(Browser browser, String task) {
        browser.js("location.hash = arguments[0]", "#/task/" + task);
        await().atMost(Timing.SOON)
                .until(() -> browser.driver().findElement(By.id("view-task")).isDisplayed()
                        && browser.driver()
                                .findElement(By.id("task-title"))
                                .getText()
                                .equals(task));
    }

    /** A test class's end: Awaitility's defaults back, its browser closed, then its twin, even if the first fails. */
    static void close(Browser browser, Twin twin) throws Exception {
        Awaitility.reset();
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
}
