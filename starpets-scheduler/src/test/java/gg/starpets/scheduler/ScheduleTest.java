package gg.starpets.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class ScheduleTest {

    private static final Instant T = Instant.parse("2026-11-23T10:00:30Z");

    @Test
    void fiveFieldCronFiresOnTheNextMatchingMinute() {
        assertThat(Schedule.parse("*/2 * * * *", ZoneOffset.UTC).next(T)).isEqualTo("2026-11-23T10:02:00Z");
    }

    @Test
    void sixFieldCronHasSeconds() {
        assertThat(Schedule.parse("*/15 * * * * *", ZoneOffset.UTC).next(T)).isEqualTo("2026-11-23T10:00:45Z");
    }

    @Test
    void aCronFiresOnWholeSecondsAfterAnInstantWithAFraction() {
        Instant fraction = T.plusNanos(310_665_000);
        assertThat(Schedule.parse("* * * * * *", ZoneOffset.UTC).next(fraction)).isEqualTo("2026-11-23T10:00:31Z");
        assertThat(Schedule.parse("*/15 * * * * *", ZoneOffset.UTC).next(fraction))
                .isEqualTo("2026-11-23T10:00:45Z");
        assertThat(Schedule.parse("0 3 * * *", ZoneOffset.UTC).next(fraction)).isEqualTo("2026-11-24T03:00:00Z");
        assertThat(Schedule.parse("* * * * *", ZoneOffset.UTC).next(fraction)).isEqualTo("2026-11-23T10:01:00Z");
    }

    @Test
    void macrosExpandToTheirCron() {
        assertThat(Schedule.parse("@hourly", ZoneOffset.UTC).next(T)).isEqualTo("2026-11-23T11:00:00Z");
        assertThat(Schedule.parse("@daily", ZoneOffset.UTC).next(T)).isEqualTo("2026-11-24T00:00:00Z");
    }

    @Test
    void cronIsReadInTheTasksTimeZone() {
        // 03:00 in Moscow (UTC+3) is 00:00 UTC.
        assertThat(Schedule.parse("0 3 * * *", ZoneId.of("Europe/Moscow")).next(T))
                .isEqualTo("2026-11-24T00:00:00Z");
    }

    @Test
    void intervalsAreADelayAfterTheGivenTime() {
        assertThat(Schedule.parse("30s", ZoneOffset.UTC).next(T)).isEqualTo(T.plusSeconds(30));
        assertThat(Schedule.parse("PT1M", ZoneOffset.UTC).next(T)).isEqualTo(T.plusSeconds(60));
        assertThat(Schedule.parse("500ms", ZoneOffset.UTC).next(T)).isEqualTo(T.plusMillis(500));
    }

    @Test
    void nextIsAlwaysAfterTheGivenTimeSoAMisfireRunsOnceAndNotInABurst() {
        Schedule everyMinute = Schedule.parse("* * * * *", ZoneOffset.UTC);
        Instant longAfterDue = T.plus(Duration.ofHours(5));
        assertThat(everyMinute.next(longAfterDue)).isAfter(longAfterDue).isBefore(longAfterDue.plusSeconds(61));
    }

    @Test
    void theLongestGapOfARegularCronIsItsPeriod() {
        assertThat(Schedule.parse("*/2 * * * *", ZoneOffset.UTC).longestGap(T)).isEqualTo(Duration.ofMinutes(2));
        assertThat(Schedule.parse("@hourly", ZoneOffset.UTC).longestGap(T)).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void theLongestGapOfAnIrregularCronIsItsLongestWithinAWeek() {
        // At 9 and 17: 8 h by day, 16 h overnight.
        assertThat(Schedule.parse("0 9,17 * * *", ZoneOffset.UTC).longestGap(T)).isEqualTo(Duration.ofHours(16));
        // Every minute on weekdays, looked at from a Monday: Friday 23:59 to Monday 00:00.
        assertThat(Schedule.parse("* * * * 1-5", ZoneOffset.UTC).longestGap(T))
                .isEqualTo(Duration.ofDays(2).plusMinutes(1));
        // Rarer than the horizon: still one whole gap.
        assertThat(Schedule.parse("@monthly", ZoneOffset.UTC).longestGap(T)).isEqualTo(Duration.ofDays(31));
    }

    @Test
    void theLongestGapOfAFixedDelayIsTheDelay() {
        assertThat(Schedule.parse("30s", ZoneOffset.UTC).longestGap(T)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void badSchedulesAreRefusedWithAReason() {
        assertThatThrownBy(() -> Schedule.parse("61 * * * *", ZoneOffset.UTC)).hasMessageContaining("not a valid cron");
        assertThatThrownBy(() -> Schedule.parse("* * *", ZoneOffset.UTC)).hasMessageContaining("has 3 fields");
        assertThatThrownBy(() -> Schedule.parse("@sometimes", ZoneOffset.UTC)).hasMessageContaining("unknown macro");
        assertThatThrownBy(() -> Schedule.parse("PT", ZoneOffset.UTC)).hasMessageContaining("ISO-8601");
        assertThatThrownBy(() -> Schedule.parse("10ms", ZoneOffset.UTC)).hasMessageContaining("at least");
        assertThatThrownBy(() -> Schedule.parse(" ", ZoneOffset.UTC)).hasMessageContaining("empty");
        assertThatThrownBy(() -> Schedule.parse("99999999999999999d", ZoneOffset.UTC))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("'99999999999999999d' is out of range");
        assertThatThrownBy(() -> Schedule.parse("99999999999999999999s", ZoneOffset.UTC))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("'99999999999999999999s' is out of range");
    }
}
