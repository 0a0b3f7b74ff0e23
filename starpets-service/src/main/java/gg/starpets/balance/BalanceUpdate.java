package gg.starpets.balance;

import gg.starpets.web.ApiException;
import java.math.BigDecimal;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.json.JsonReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The body of {@code POST /balance/update}: {@code {"userId": 1, "amount": -2}}, parsed here by hand so
 * that every way it can be wrong has its own answer (see docs/balance.md).
 *
 * @param userId a positive whole number
 * @param amount non-zero, at most {@link Money#MAX_AMOUNT} either way, exactly {@link Money#SCALE} places
 */
record BalanceUpdate(long userId, BigDecimal amount) {

    static final String INVALID_REQUEST = "invalid_request";
    static final String INVALID_AMOUNT = "invalid_amount";

    private static final Set<String> FIELDS = Set.of("userId", "amount");
    private static final Pattern USER_ID = Pattern.compile("[1-9][0-9]{0,18}");

    private static final JsonMapper JSON = JsonMapper.builder()
            // Decimals as BigDecimal, never through a double.
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // Parsed so that they can be refused as an amount, with invalid_amount.
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    /** Parses a request body; every failure is an {@link ApiException} with status 400. */
    static BalanceUpdate parse(byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JacksonException e) {
            throw invalidRequest("The request body is not valid JSON");
        } catch (NumberFormatException e) {
            // A number whose exponent is beyond what can be represented, e.g. 1e2147483648.
            throw invalidRequest("The request body has a number out of any usable range");
        }
        if (root == null || !root.isObject()) {
            throw invalidRequest("The request body must be a JSON object {\"userId\": …, \"amount\": …}");
        }
        for (String name : root.propertyNames()) {
            if (!FIELDS.contains(name)) {
                throw invalidRequest("Unknown field '" + name + "': only userId and amount are accepted");
            }
        }
        return new BalanceUpdate(userId(root.get("userId")), amount(root.get("amount")));
    }

    /** A user id as it appears in a path: the same rule as in the body (digits only, no sign, no leading zero). */
    static long parseUserId(String text) {
        if (USER_ID.matcher(text).matches()) {
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                // past Long.MAX_VALUE: answered below
            }
        }
        throw ApiException.badRequest("invalid_parameter", "'userId' must be a positive whole number");
    }

    private static long userId(JsonNode node) {
        if (node == null || node.isNull()) {
            throw invalidRequest("'userId' is required");
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.longValue() < 1) {
            throw invalidRequest("'userId' must be a positive whole number");
        }
        return node.longValue();
    }

    private static BigDecimal amount(JsonNode node) {
        if (node == null || node.isNull()) {
            throw invalidRequest("'amount' is required");
        }
        if (node.isContainer()) {
            throw invalidRequest("'amount' must be a number, not an object or an array");
        }
        if (!node.isNumber()) {
            throw invalidAmount("'amount' must be a JSON number, e.g. -2 or 10.50");
        }
        if (node.isFloatingPointNumber() && !node.isBigDecimal()) {
            // With USE_BIG_DECIMAL_FOR_FLOATS only NaN and ±Infinity get here.
            throw invalidAmount("'amount' must be a finite number");
        }
        BigDecimal amount = node.decimalValue();
        if (amount.signum() == 0) {
            throw invalidAmount("'amount' must not be zero");
        }
        if (amount.abs().compareTo(Money.MAX_AMOUNT) > 0) {
            throw invalidAmount("'amount' must be between -" + Money.MAX_AMOUNT + " and " + Money.MAX_AMOUNT);
        }
        if (amount.stripTrailingZeros().scale() > Money.SCALE) {
            throw invalidAmount("'amount' must have at most " + Money.SCALE + " decimal places");
        }
        return amount.setScale(Money.SCALE);
    }

    private static ApiException invalidRequest(String detail) {
        return ApiException.badRequest(INVALID_REQUEST, detail);
    }

    private static ApiException invalidAmount(String detail) {
        return ApiException.badRequest(INVALID_AMOUNT, detail);
    }
}
