package gg.starpets.balance;

import java.math.BigDecimal;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * What became of one balance change.
 *
 * @param balance the balance right after the change, when it was applied
 * @param replayed the first answer to this Idempotency-Key, given again: nothing changed this time
 */
record ChangeResult(Outcome outcome, @Nullable BigDecimal balance, boolean replayed) {

    enum Outcome {
        APPLIED,
        INSUFFICIENT_FUNDS,
        BALANCE_LIMIT_EXCEEDED,
        USER_NOT_FOUND,
        /** The key was first used with another body: nothing changed. */
        KEY_REUSED,
        /** Another request with this key is being decided right now: nothing changed. */
        KEY_IN_PROGRESS;

        /** As stored in {@code balance_idempotency_keys.outcome}. */
        String stored() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Outcome ofStored(String text) {
            return valueOf(text.toUpperCase(Locale.ROOT));
        }
    }

    static ChangeResult of(Outcome outcome) {
        return new ChangeResult(outcome, null, false);
    }
}
