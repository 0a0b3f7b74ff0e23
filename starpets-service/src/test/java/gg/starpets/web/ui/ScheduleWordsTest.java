package gg.starpets.web.ui;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ScheduleWordsTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            * * * * *            | every minute
            */2 * * * *          | every 2 minutes
            */1 * * * *          | every minute
            0 */5 * * * *        | every 5 minutes
            */30 * * * * *       | every 30 seconds
            * * * * * *          | every second
            0 * * * *            | every hour
            @hourly              | every hour
            15 * * * *           | at :15 every hour
            0 */2 * * *          | every 2 hours
            30 */6 * * *         | at :30 every 6 hours
            0 3 * * *            | at 03:00 every day
            0 0 3 * * *          | at 03:00 every day
            0 0 3 * * ?          | at 03:00 every day
            @daily               | at 00:00 every day
            @midnight            | at 00:00 every day
            30 8,18 * * *        | at 08:30, 18:30 every day
            0 9 * * 1-5          | at 09:00 on weekdays
            0 9 * * MON-FRI      | at 09:00 on weekdays
            0 10 * * 0,6         | at 10:00 on weekends
            0 9 * * 1            | at 09:00 on Monday
            0 9 * * 0            | at 09:00 on Sunday
            0 9 * * 7            | at 09:00 on Sunday
            0 9 * * mon,wed      | at 09:00 on Monday, Wednesday
            @weekly              | at 00:00 on Sunday
            0 6 1 * *            | at 06:00 on day 1 of every month
            @monthly             | at 00:00 on day 1 of every month
            @yearly              | at 00:00 on 1 January every year
            0 12 25 12 *         | at 12:00 on 25 December every year
            30s                  | 30 s after each run
            PT45S                | 45 s after each run
            1m                   | 1 min after each run
            90s                  | 90 s after each run
            2h                   | 2 h after each run
            1d                   | 1 d after each run
            500ms                | 500 ms after each run
            PT1.5S               | 1.5 s after each run
            once                 | once, at its set time
            """)
    void describesTheCommonFormsInWords(String schedule, String words) {
        assertThat(ScheduleWords.describe(schedule)).isEqualTo(words);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            0 9-17 * * *
            5,35 * * * *
            0 9 L * *
            0 9 * * 1#2
            */15 9-17 * * 1-5
            0 0 12 * * 1-5 2024
            @reboot
            P1Q
            """)
    void fallsBackToTheExpressionForWhatItCannotSayPlainly(String schedule) {
        assertThat(ScheduleWords.describe(schedule)).isEqualTo(schedule);
    }
}
