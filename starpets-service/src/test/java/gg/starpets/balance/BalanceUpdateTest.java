package gg.starpets.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gg.starpets.web.ApiException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every way a body can be right or wrong, without HTTP or a database. */
class BalanceUpdateTest {

    private static BalanceUpdate parse(String json) {
        return BalanceUpdate.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"userId\":1,\"amount\":-2}|1|-2.00",
                "{\"amount\":10.5,\"userId\":7}|7|10.50",
                "{\"userId\":9223372036854775807,\"amount\":0.01}|9223372036854775807|0.01",
                "{\"userId\":1,\"amount\":-1000000000}|1|-1000000000.00",
                "{\"userId\":1,\"amount\":1000000000.00}|1|1000000000.00",
                "{\"userId\":1,\"amount\":2.000}|1|2.00",
                "{\"userId\":1,\"amount\":1e2}|1|100.00",
                " {\"userId\" : 1 , \"amount\" : -2 } \n|1|-2.00"
            })
    void aValidBodyGivesTheUserAndTheAmountWithTwoDecimals(String row) {
        String[] parts = row.split("\\|");
        BalanceUpdate update = parse(parts[0]);
        assertThat(update.userId()).isEqualTo(Long.parseLong(parts[1]));
        assertThat(update.amount()).isEqualTo(new BigDecimal(parts[2]));
        assertThat(update.amount().scale()).isEqualTo(2);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"userId\":1,\"amount\":0}",
                "{\"userId\":1,\"amount\":-0.00}",
                "{\"userId\":1,\"amount\":0e5}",
                "{\"userId\":1,\"amount\":\"-2\"}",
                "{\"userId\":1,\"amount\":\"abc\"}",
                "{\"userId\":1,\"amount\":true}",
                "{\"userId\":1,\"amount\":1.001}",
                "{\"userId\":1,\"amount\":-0.005}",
                "{\"userId\":1,\"amount\":1e-3}",
                "{\"userId\":1,\"amount\":NaN}",
                "{\"userId\":1,\"amount\":Infinity}",
                "{\"userId\":1,\"amount\":-Infinity}",
                "{\"userId\":1,\"amount\":\"NaN\"}",
                "{\"userId\":1,\"amount\":1000000000.01}",
                "{\"userId\":1,\"amount\":-1000000001}",
                "{\"userId\":1,\"amount\":1e300}",
                "{\"userId\":1,\"amount\":99999999999999999999999999999999999999}"
            })
    void aBadAmountIsInvalidAmount(String json) {
        assertRefused(json, "invalid_amount");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "   ",
                "{",
                "not json",
                "{\"userId\":1,\"amount\":-2",
                "{\"userId\":1,\"amount\":-2}}",
                "{\"userId\":1,\"amount\":-2} {}",
                "{'userId':1,'amount':-2}",
                "[1,-2]",
                "[{\"userId\":1,\"amount\":-2}]",
                "null",
                "42",
                "\"text\"",
                "{}",
                "{\"userId\":1}",
                "{\"amount\":-2}",
                "{\"userId\":null,\"amount\":-2}",
                "{\"userId\":1,\"amount\":null}",
                "{\"userId\":1,\"amount\":{\"value\":-2}}",
                "{\"userId\":1,\"amount\":[-2]}",
                "{\"userId\":{\"id\":1},\"amount\":-2}",
                "{\"userId\":[1],\"amount\":-2}",
                "{\"userId\":0,\"amount\":-2}",
                "{\"userId\":-1,\"amount\":-2}",
                "{\"userId\":1.5,\"amount\":-2}",
                "{\"userId\":1.0,\"amount\":-2}",
                "{\"userId\":\"1\",\"amount\":-2}",
                "{\"userId\":true,\"amount\":-2}",
                "{\"userId\":9223372036854775808,\"amount\":-2}",
                "{\"userId\":123456789012345678901234567890,\"amount\":-2}",
                "{\"userId\":1,\"amount\":-2,\"extra\":1}",
                "{\"userId\":1,\"userId\":2,\"amount\":-2}",
                "{\"userId\":1,\"amount\":-2,\"amount\":-2}"
            })
    void aMalformedBodyIsInvalidRequest(String json) {
        assertRefused(json, "invalid_request");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "42", "9223372036854775807"})
    void aPathUserIdIsAPositiveWholeNumber(String text) {
        assertThat(BalanceUpdate.parseUserId(text)).isEqualTo(Long.parseLong(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "1.5", "abc", "9223372036854775808", " 1", ""})
    void aBadPathUserIdIsInvalidParameter(String text) {
        assertThatThrownBy(() -> BalanceUpdate.parseUserId(text))
                .isInstanceOfSatisfying(
                        ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_parameter"));
    }

    private static void assertRefused(String json, String code) {
        assertThatThrownBy(() -> parse(json)).as(json).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.code()).as(json).isEqualTo(code);
            assertThat(e.status().value()).isEqualTo(400);
        });
    }
}
