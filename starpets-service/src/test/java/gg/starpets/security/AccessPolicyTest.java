package gg.starpets.security;

import static org.assertj.core.api.Assertions.assertThat;

import gg.starpets.security.AccessPolicy.Access;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;

class AccessPolicyTest {

    private static final AccessPolicy SHIPPED = new AccessPolicy(false);
    private static final AccessPolicy PUBLIC_READS = new AccessPolicy(true);

    @Test
    void everyWriteOutsideTheBalanceApiAndHealthNeedsAnOperatorWhateverTheSettings() {
        for (AccessPolicy policy : new AccessPolicy[] {SHIPPED, PUBLIC_READS}) {
            for (String method : new String[] {"POST", "PUT", "PATCH", "DELETE", "TRACE", "FOO"}) {
                for (String path :
                        new String[] {"/tasks", "/tasks/a/pause", "/runs/1/cancel", "/", "/metrics", "/x", "/ui/"}) {
                    assertThat(policy.required(method, path))
                            .as(method + " " + path)
                            .isEqualTo(Access.OPERATOR);
                }
            }
        }
    }

    @Test
    void byDefaultEveryReadNeedsAViewerButTheConsolesFilesAndWhoamiAnyRole() {
        for (String path : new String[] {
            "/",
            "/tasks",
            "/tasks/a/runs",
            "/runs",
            "/instances",
            "/metrics",
            "/v3/api-docs",
            "/ui/api/summaries",
            "/swagger-ui/index.html",
            "/healthz",
            "/anything"
        }) {
            assertThat(SHIPPED.required("GET", path)).as(path).isEqualTo(Access.VIEWER);
            assertThat(SHIPPED.required("HEAD", path)).as(path).isEqualTo(Access.VIEWER);
        }
        assertThat(SHIPPED.required("GET", "/whoami")).isEqualTo(Access.ANY_ROLE);
        for (String path : new String[] {"/ui", "/ui/", "/ui/app.js", "/ui/console.css"}) {
            assertThat(SHIPPED.required("GET", path)).as(path).isEqualTo(Access.OPEN);
        }
    }

    @Test
    void publicReadsOpenTheReadsAndNothingElse() {
        for (String path : new String[] {"/", "/tasks", "/metrics", "/v3/api-docs", "/ui/api/summaries", "/whoami"}) {
            assertThat(PUBLIC_READS.required("GET", path)).as(path).isEqualTo(Access.OPEN);
        }
        assertThat(PUBLIC_READS.required("POST", "/tasks")).isEqualTo(Access.OPERATOR);
        assertThat(PUBLIC_READS.required("GET", "/balance/1")).isEqualTo(Access.BALANCE);
    }

    @Test
    void theBalanceApiNeedsTheBalanceRoleForEveryMethodWhateverTheSettings() {
        for (AccessPolicy policy : new AccessPolicy[] {SHIPPED, PUBLIC_READS}) {
            assertThat(policy.required("POST", "/balance/update")).isEqualTo(Access.BALANCE);
            assertThat(policy.required("GET", "/balance/7")).isEqualTo(Access.BALANCE);
            assertThat(policy.required("GET", "/balance/7/changes")).isEqualTo(Access.BALANCE);
            assertThat(policy.required("DELETE", "/balance")).isEqualTo(Access.BALANCE);
            assertThat(policy.required("POST", "/balancesheet")).isEqualTo(Access.OPERATOR);
        }
    }

    @Test
    void healthIsOpenToEveryMethodWhateverTheSettings() {
        for (AccessPolicy policy : new AccessPolicy[] {SHIPPED, PUBLIC_READS}) {
            for (String path : new String[] {"/health", "/actuator/health", "/actuator/health/liveness"}) {
                assertThat(policy.required("GET", path)).isEqualTo(Access.OPEN);
                assertThat(policy.required("POST", path)).isEqualTo(Access.OPEN);
            }
        }
        assertThat(SHIPPED.required("GET", "/healthz")).isEqualTo(Access.VIEWER);
        assertThat(SHIPPED.required("GET", "/actuator/healthy")).isEqualTo(Access.VIEWER);
    }

    @Test
    void thePathIsTheDecodedOneTheContainerResolvedNotTheRawUri() {
        // Tomcat decodes "/b%61lance/1" to the servlet path "/balance/1"; the policy must see that.
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/b%61lance/1");
        request.setServletPath("/balance/1");
        assertThat(SHIPPED.required(request)).isEqualTo(Access.BALANCE);

        MockHttpServletRequest root = new MockHttpServletRequest("GET", "/");
        root.setServletPath("");
        assertThat(AccessPolicy.path(root)).isEqualTo("/");
    }
}
