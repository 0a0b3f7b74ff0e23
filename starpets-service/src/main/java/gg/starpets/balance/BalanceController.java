package gg.starpets.balance;

import gg.starpets.security.Caller;
import gg.starpets.web.ApiException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.util.Enumeration;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /balance/update} (with an optional {@code Idempotency-Key}) and {@code GET /balance/{userId}};
 * the contract is in docs/balance.md.
 */
@RestController
class BalanceController {

    /** A valid body is under 100 bytes; anything beyond this is refused before it is parsed. */
    static final int MAX_BODY_BYTES = 4096;

    /** The answer to both routes; {@code balance} is a JSON number with exactly two decimals. */
    record Balance(long userId, BigDecimal balance) {}

    /** The header a client sends to make a change safe to retry (as payment APIs do). */
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    /** On an answer given again for an Idempotency-Key: nothing changed this time. */
    static final String REPLAYED = "Idempotent-Replayed";

    static final int MAX_KEY_LENGTH = 255;

    private final UserRepository users;
    private final ChangeBatcher batcher;
    private final ObjectWriter balanceWriter;

    BalanceController(UserRepository users, ChangeBatcher batcher, JsonMapper json) {
        this.users = users;
        this.batcher = batcher;
        this.balanceWriter = json.writerFor(Balance.class);
    }

    // "produces": an Accept this route cannot answer is refused (406) before the balance changes, not after.
    @PostMapping(
            path = "/balance/update",
            consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    void update(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String key = idempotencyKey(request);
        BalanceUpdate update = BalanceUpdate.parse(readBody(request));
        ChangeResult result = batcher.change(update.userId(), update.amount(), Caller.of(request), key);
        if (result.replayed()) {
            response.setHeader(REPLAYED, "true");
        }
        Balance balance = switch (result.outcome()) {
            case APPLIED -> new Balance(update.userId(), result.balance());
            case USER_NOT_FOUND -> throw userNotFound(update.userId());
            // Refused with the user present: a withdrawal found too little, or a top-up would pass the maximum.
            case INSUFFICIENT_FUNDS ->
                throw new ApiException(
                        HttpStatus.CONFLICT,
                        "insufficient_funds",
                        "Insufficient funds",
                        "User " + update.userId() + " has less than "
                                + update.amount().negate() + "; the balance is unchanged");
            case BALANCE_LIMIT_EXCEEDED ->
                throw new ApiException(
                        HttpStatus.CONFLICT,
                        "balance_limit_exceeded",
                        "Balance limit exceeded",
                        "The balance of user " + update.userId() + " would pass " + Money.MAX_BALANCE
                                + "; the balance is unchanged");
            case KEY_REUSED ->
                throw new ApiException(
                        HttpStatus.UNPROCESSABLE_CONTENT,
                        "idempotency_key_reused",
                        "Idempotency key reused",
                        "This Idempotency-Key was first used with another request; nothing was changed");
            case KEY_IN_PROGRESS -> {
                response.setHeader(HttpHeaders.RETRY_AFTER, "1");
                throw new ApiException(
                        HttpStatus.CONFLICT,
                        "idempotency_key_in_progress",
                        "Idempotency key in progress",
                        "A request with this Idempotency-Key is being applied right now; retry shortly");
            }
        };
        // Written here, with its length, rather than by a message converter: this is the hot route, and
        // the converter's negotiation and chunked streaming were a tenth of its CPU (docs/benchmarks-balance.md).
        byte[] body = balanceWriter.writeValueAsBytes(balance);
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    @GetMapping("/balance/{userId}")
    Balance get(@PathVariable String userId) {
        long id = BalanceUpdate.parseUserId(userId);
        return users.findBalance(id).map(b -> new Balance(id, b)).orElseThrow(() -> userNotFound(id));
    }

    /** The Idempotency-Key header: absent (null), or 1 … 255 printable ASCII characters but commas, sent once. */
    static @Nullable String idempotencyKey(HttpServletRequest request) {
        Enumeration<String> values = request.getHeaders(IDEMPOTENCY_KEY);
        if (values == null || !values.hasMoreElements()) {
            return null;
        }
        String key = values.nextElement();
        if (values.hasMoreElements()) {
            throw invalidKey("Send one Idempotency-Key header, not several");
        }
        if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
            throw invalidKey("'Idempotency-Key' must be 1 to " + MAX_KEY_LENGTH + " characters long");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            // A comma is what joins several values of one header: refused, so two keys never pass as one.
            if (c < 0x20 || c > 0x7e || c == ',') {
                throw invalidKey("'Idempotency-Key' must be printable ASCII without commas, e.g. a UUID");
            }
        }
        return key;
    }

    private static ApiException invalidKey(String detail) {
        return ApiException.badRequest("invalid_idempotency_key", detail);
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

    static ApiException userNotFound(long userId) {
        return ApiException.notFound("user_not_found", "No user with id " + userId);
    }
}
