package gg.starpets.balance;

import gg.starpets.balance.BalanceChangeRepository.BalanceChange;
import gg.starpets.web.ApiException;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /balance/{userId}/changes?limit=&before=}: the ledger, newest first, paged as {@code /runs}. */
@RestController
class BalanceChangesController {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;

    record ChangeList(List<BalanceChange> changes) {}

    private final UserRepository users;
    private final BalanceChangeRepository changes;

    BalanceChangesController(UserRepository users, BalanceChangeRepository changes) {
        this.users = users;
        this.changes = changes;
    }

    @GetMapping("/balance/{userId}/changes")
    ChangeList changes(
            @PathVariable String userId,
            @RequestParam(required = false) @Nullable String limit,
            @RequestParam(required = false) @Nullable String before) {
        long id = BalanceUpdate.parseUserId(userId);
        long max = limit == null || limit.isBlank() ? DEFAULT_LIMIT : positive("limit", limit);
        if (max > MAX_LIMIT) {
            throw ApiException.badRequest("invalid_parameter", "'limit' must be between 1 and " + MAX_LIMIT);
        }
        Long below = before == null || before.isBlank() ? null : Long.valueOf(positive("before", before));
        if (users.findBalance(id).isEmpty()) {
            throw ApiException.notFound("user_not_found", "No user with id " + id);
        }
        return new ChangeList(changes.find(id, below, (int) max));
    }

    private static long positive(String name, String text) {
        try {
            long value = Long.parseLong(text.strip());
            if (value >= 1) {
                return value;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ApiException.badRequest("invalid_parameter", "'" + name + "' must be a positive whole number");
    }
}
