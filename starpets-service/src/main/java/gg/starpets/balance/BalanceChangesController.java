package gg.starpets.balance;

import gg.starpets.balance.BalanceChangeRepository.BalanceChange;
import gg.starpets.web.Params;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /balance/{userId}/changes?limit=&before=}: the ledger, newest first, paged as {@code /runs}. */
@RestController
class BalanceChangesController {

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
        int max = Params.limit(limit);
        Long below = Params.positiveLong("before", before);
        if (users.findBalance(id).isEmpty()) {
            throw BalanceController.userNotFound(id);
        }
        return new ChangeList(changes.find(id, below, max));
    }
}
