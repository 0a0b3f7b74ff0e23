package gg.starpets.web.ui;

import com.fasterxml.jackson.annotation.JsonInclude;
import gg.starpets.scheduler.OutcomeViews;
import gg.starpets.web.ApiException;
import gg.starpets.web.Params;
import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import java.util.List;
import java.util.Locale;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseBody;

/**
 * The web console at {@code /ui/} (static files under {@code static/ui}, no build step), the
 * batched read its task board needs beside the JSON API, and {@code /whoami}, which tells the
 * page whether to show the operators' buttons.
 */
@Controller
class ConsoleController {

    static final int STRIP = 20;
    static final int MAX_STRIP = 50;
    static final int MAX_TASKS = 1_000;

    /** The board's slow-changing part of a task: its schedule in words and its last outcomes. */
    record TaskSummary(
            String name, String schedule, String timeZone, String words, List<OutcomeViews.Outcome> outcomes) {}

    record SummaryList(List<TaskSummary> tasks) {}

    /** {@code name} only when signed in. */
    record Identity(
            String role,
            @JsonInclude(JsonInclude.Include.NON_NULL) String name) {}

    private final OutcomeViews outcomes;

    ConsoleController(OutcomeViews outcomes) {
        this.outcomes = outcomes;
    }

    /** A relative Location: behind nginx the Host header carries no port, so an absolute one would be wrong. */
    @GetMapping("/ui")
    ResponseEntity<Void> withSlash() {
        return ResponseEntity.status(HttpStatus.FOUND)
                .header(HttpHeaders.LOCATION, "/ui/")
                .build();
    }

    @GetMapping("/ui/")
    String page() {
        return "forward:/ui/index.html";
    }

    /** {@code ?task=a,b} (or every task), with up to {@code limit} finished runs each, oldest first. */
    @GetMapping("/ui/api/summaries")
    @ResponseBody
    SummaryList summaries(
            @RequestParam(name = "task", required = false) List<String> tasks,
            @RequestParam(required = false) String limit) {
        List<String> names = tasks == null
                ? List.of()
                : tasks.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        if (names.size() > MAX_TASKS) {
            throw ApiException.badRequest("invalid_parameter", "at most " + MAX_TASKS + " tasks at once");
        }
        int strip = Params.limit(limit, STRIP, MAX_STRIP);
        return new SummaryList(outcomes.lastOutcomes(names, strip).stream()
                .map(t -> new TaskSummary(
                        t.name(), t.schedule(), t.timeZone(), ScheduleWords.describe(t.schedule()), t.outcomes()))
                .toList());
    }

    /**
     * The caller's role, as the security layer in front of this controller established it from the
     * request's {@code Authorization} header (through the servlet request's standard role check):
     * {@code operator}, {@code viewer}, {@code balance} (a balance client, which reads nothing here),
     * or {@code anonymous} when no one is signed in (only where reads are public); and the
     * caller's name (the one the audit trail records), when signed in.
     */
    @GetMapping("/whoami")
    @ResponseBody
    Identity whoami(HttpServletRequest request) {
        Principal principal = request.getUserPrincipal();
        return new Identity(
                Role.of(request).name().toLowerCase(Locale.ROOT), principal == null ? null : principal.getName());
    }

    enum Role {
        OPERATOR,
        VIEWER,
        BALANCE,
        ANONYMOUS;

        static Role of(HttpServletRequest request) {
            if (request.isUserInRole("OPERATOR")) {
                return OPERATOR;
            }
            if (request.isUserInRole("VIEWER")) {
                return VIEWER;
            }
            if (request.isUserInRole("BALANCE")) {
                return BALANCE;
            }
            return ANONYMOUS;
        }
    }
}
