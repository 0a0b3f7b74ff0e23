package gg.starpets.observability;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The method label cannot grow: made-up methods share one value. */
class HttpMetricsFilterTest {

    @Test
    void theStandardMethodsKeepTheirNameAndEverythingElseIsOther() {
        for (String method : new String[] {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}) {
            assertThat(HttpMetricsFilter.methodLabel(method)).isEqualTo(method);
        }
        for (String method : new String[] {"FOO1", "PROPFIND", "get", "CONNECT", "", "GET "}) {
            assertThat(HttpMetricsFilter.methodLabel(method)).as(method).isEqualTo("OTHER");
        }
    }
}
