package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Where {@code :scheduled_for} is a parameter of an sql task's statement, and where it is only text. */
class ScheduledForParameterTest {

    private static final Instant AT = Instant.parse("2026-12-07T03:00:00Z");
    private static final String LITERAL = "cast('2026-12-07T03:00:00Z' as timestamptz)";

    private static String bind(String sql) {
        return ScheduledForParameter.bind(sql, AT);
    }

    @Test
    void eachParameterBecomesTheTimeAsATimestamp() {
        assertThat(bind("delete from events where at < :scheduled_for - interval '30 days'"))
                .isEqualTo("delete from events where at < " + LITERAL + " - interval '30 days'");
        assertThat(bind("select (:scheduled_for), :scheduled_for")).isEqualTo("select (" + LITERAL + "), " + LITERAL);
    }

    @Test
    void aStatementWithoutItIsSentAsWritten() {
        String sql = "select data ? 'key', $1, 'a''b', E'it\\'s' from t -- note";
        assertThat(bind(sql)).isSameAs(sql);
    }

    @Test
    void inQuotesCommentsCastsAndLongerNamesItStaysAsWritten() {
        for (String sql : java.util.List.of(
                "select ':scheduled_for'",
                "select 'it''s :scheduled_for'",
                "select E'it\\'s :scheduled_for'",
                "select \":scheduled_for\" from t",
                "select $$ :scheduled_for $$",
                "select $body$ :scheduled_for $body$",
                "select 1 -- :scheduled_for",
                "select 1 /* a /* nested */ :scheduled_for */",
                "select x::scheduled_for",
                "select :scheduled_for_day")) {
            assertThat(bind(sql)).as(sql).isEqualTo(sql);
        }
        assertThat(bind("select 'x', :scheduled_for, $1")).isEqualTo("select 'x', " + LITERAL + ", $1");
        assertThat(bind("select $$a$$ || :scheduled_for::text")).isEqualTo("select $$a$$ || " + LITERAL + "::text");
    }
}
