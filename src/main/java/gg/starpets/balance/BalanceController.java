package gg.starpets.balance;

import gg.starpets.web.ApiException;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code POST /balance/update} and {@code GET /balance/{userId}}; the contract is in docs/balance.md. */
@RestController
class BalanceController {

    /** A valid body is under 100 bytes; anything beyond this is refused before it is parsed. */
    static final int MAX_BODY_BYTES = 4096;

    /** The answer to both routes; {@code balance} is a JSON number with exactly two decimals. */
    record Balance(long userId, BigDecimal balance) {}

    private final UserRepository users;

    BalanceController(UserRepository users) {
        this.users = users;
    }

    // "produces": an Accept this route cannot answer is refused (406) before the balance changes, not after.
    @PostMapping(
            path = "/balance/update",
            consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    Balance update(HttpServletRequest request) {
        BalanceUpdate update = BalanceUpdate.parse(readBody(request));
        UserRepository.Change change = users.change(update.userId(), update.amount());
        if (change.applied()) {
            return new Balance(update.userId(), change.balance());
        }
        if (!change.userExists()) {
            throw userNotFound(update.userId());
        }
        // Refused with the user present: a withdrawal found too little, or a top-up would pass the maximum.
        if (update.amount().signum() < 0) {
            throw new ApiException(
                    HttpStatus.CONFLICT,
                    "insufficient_funds",
                    "Insufficient funds",
                    "User " + update.userId() + " has less than "
                            + update.amount().negate() + "; the balance is unchanged");
        }
        throw new ApiException(
                HttpStatus.CONFLICT,
                "balance_limit_exceeded",
                "Balance limit exceeded",
                "The balance of user " + update.userId() + " would pass " + Money.MAX_BALANCE
                        + "; the balance is unchanged");
    }

    @GetMapping("/balance/{userId}")
    Balance get(@PathVariable String userId) {
        long id = BalanceUpdate.parseUserId(userId);
        return users.findBalance(id).map(b -> new Balance(id, b)).orElseThrow(() -> userNotFound(id));
    }

    /** Reads at most {@link #MAX_BODY_BYTES}: the declared length is checked first, the bytes actually sent too. */
    private static byte[] readBody(HttpServletRequest request) {
        if (request.getContentLengthLong() > MAX_BODY_BYTES) {
            throw tooLarge();
        }
        try (InputStream in = request.getInputStream()) {
            byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
            if (body.length > MAX_BODY_BYTES) {
                throw tooLarge();
            }
            return body;
        } catch (IOException e) {
            throw ApiException.badRequest(BalanceUpdate.INVALID_REQUEST, "The request body could not be read");
        }
    }

    private static ApiException tooLarge() {
        return new ApiException(
                HttpStatus.CONTENT_TOO_LARGE,
                "request_too_large",
                "Request too large",
                "The request body must be at most " + MAX_BODY_BYTES + " bytes");
    }

    private static ApiException userNotFound(long userId) {
        return ApiException.notFound("user_not_found", "No user with id " + userId);
    }
}
