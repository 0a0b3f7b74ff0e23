package gg.starpets.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.oauth2.server.resource.InvalidBearerTokenException;
import org.springframework.security.oauth2.server.resource.authentication.BearerTokenAuthenticationToken;

class StaticTokensTest {

    private static final String OPERATOR = "operator-secret-0123456789";
    private static final String VIEWER = "viewer-secret-0123456789ab";

    private static final String BALANCE = "balance-secret-0123456789a";

    private static StaticTokens tokens(List<String> operators, List<String> viewers) {
        return tokens(operators, viewers, List.of());
    }

    private static StaticTokens tokens(List<String> operators, List<String> viewers, List<String> balance) {
        return StaticTokens.of(new SecuritySettings(operators, viewers, balance, false, null));
    }

    private static Authentication login(StaticTokens tokens, String token) {
        return tokens.authenticate(new BearerTokenAuthenticationToken(token));
    }

    private static List<String> roles(Authentication authentication) {
        return authentication.getAuthorities().stream()
                .map(GrantedAuthority::getAuthority)
                .toList();
    }

    @Test
    void anOperatorIsAlsoAViewerAndAViewerOnlyAViewer() {
        StaticTokens tokens = tokens(List.of(OPERATOR), List.of(VIEWER));
        assertThat(roles(login(tokens, OPERATOR))).containsExactlyInAnyOrder("ROLE_OPERATOR", "ROLE_VIEWER");
        assertThat(roles(login(tokens, VIEWER))).containsExactly("ROLE_VIEWER");
        assertThat(login(tokens, OPERATOR).getCredentials()).isNull();
    }

    @Test
    void anUnknownTokenIsRefused() {
        StaticTokens tokens = tokens(List.of(OPERATOR), List.of(VIEWER));
        assertThatThrownBy(() -> login(tokens, OPERATOR + "x")).isInstanceOf(InvalidBearerTokenException.class);
        assertThatThrownBy(() -> login(tokens(List.of(), List.of()), OPERATOR))
                .isInstanceOf(InvalidBearerTokenException.class);
    }

    @Test
    void aDigestInTheConfigurationAcceptsTheTokenItWasMadeFrom() {
        String digest = HexFormat.of().formatHex(StaticTokens.sha256(OPERATOR));
        StaticTokens tokens = tokens(List.of("sha256:" + digest.toUpperCase()), List.of());
        assertThat(roles(login(tokens, OPERATOR))).contains("ROLE_OPERATOR");
        // The digest itself is not a token.
        assertThatThrownBy(() -> login(tokens, digest)).isInstanceOf(InvalidBearerTokenException.class);
    }

    @Test
    void aTokenIsNamedByItsPrefixOrElseByItsRoleAndPosition() {
        String digest = HexFormat.of().formatHex(StaticTokens.sha256(VIEWER));
        StaticTokens tokens =
                tokens(List.of("other-operator-secret-1", "ci:" + OPERATOR), List.of("grafana:sha256:" + digest));
        assertThat(login(tokens, OPERATOR).getName()).isEqualTo("ci");
        assertThat(login(tokens, "other-operator-secret-1").getName()).isEqualTo("operator-1");
        assertThat(login(tokens, VIEWER).getName()).isEqualTo("grafana");
    }

    @Test
    void aTokenListedForBothRolesGetsTheOperatorRole() {
        StaticTokens tokens = tokens(List.of(OPERATOR), List.of(OPERATOR));
        assertThat(roles(login(tokens, OPERATOR))).contains("ROLE_OPERATOR");
    }

    @Test
    void aBalanceTokenIsABalanceClientOnlyAndNoTaskRoleIsOne() {
        StaticTokens tokens = tokens(List.of(OPERATOR), List.of(VIEWER), List.of("shop:" + BALANCE));
        assertThat(roles(login(tokens, BALANCE))).containsExactly("ROLE_BALANCE");
        assertThat(login(tokens, BALANCE).getName()).isEqualTo("shop");
        assertThat(roles(login(tokens, OPERATOR))).doesNotContain("ROLE_BALANCE");
        assertThat(roles(login(tokens, VIEWER))).doesNotContain("ROLE_BALANCE");
        assertThat(tokens.count(Role.BALANCE)).isOne();
        // Listed under two roles: both, under the first name given.
        StaticTokens both = tokens(List.of("ops:" + OPERATOR), List.of(), List.of("pay:" + OPERATOR));
        assertThat(roles(login(both, OPERATOR)))
                .containsExactlyInAnyOrder("ROLE_OPERATOR", "ROLE_VIEWER", "ROLE_BALANCE");
        assertThat(login(both, OPERATOR).getName()).isEqualTo("ops");
        assertThatThrownBy(() -> tokens(List.of(), List.of(), List.of("short")))
                .hasMessageContaining("(STARPETS_BALANCE_TOKENS), entry 1");
    }

    @Test
    void generatedTokensAreAnOperatorsAndABalanceClientsRandomAndLongAndKeptAsDigests() {
        StaticTokens.Generated one = StaticTokens.generate();
        StaticTokens.Generated two = StaticTokens.generate();
        String operator = one.clear().get(Role.OPERATOR);
        String balance = one.clear().get(Role.BALANCE);
        assertThat(operator).hasSizeGreaterThanOrEqualTo(43).isNotEqualTo(balance);
        assertThat(two.clear().get(Role.OPERATOR)).isNotEqualTo(operator);
        assertThat(roles(login(one.tokens(), operator))).containsExactlyInAnyOrder("ROLE_OPERATOR", "ROLE_VIEWER");
        assertThat(roles(login(one.tokens(), balance))).containsExactly("ROLE_BALANCE");
        assertThat(login(one.tokens(), operator).getName()).isEqualTo("generated-operator");
        assertThatThrownBy(() -> login(two.tokens(), operator)).isInstanceOf(InvalidBearerTokenException.class);
        // A generated token is a valid token of the configuration's own form.
        assertThat(roles(login(tokens(List.of(operator), List.of()), operator))).contains("ROLE_OPERATOR");
    }

    @Test
    void badEntriesStopTheStartWithAMessageThatNamesThePositionButNotTheSecret() {
        String shortOne = "tooShort1";
        assertThatThrownBy(() -> tokens(List.of(OPERATOR, shortOne), List.of()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("(STARPETS_OPERATOR_TOKENS), entry 2")
                .hasMessageContaining("at least 16")
                .hasMessageNotContaining(shortOne);
        String withSpace = "has a space but long enough";
        assertThatThrownBy(() -> tokens(List.of(), List.of(withSpace)))
                .hasMessageContaining("(STARPETS_VIEWER_TOKENS), entry 1")
                .hasMessageNotContaining(withSpace);
        assertThatThrownBy(() -> tokens(List.of("sha256:abc123"), List.of())).hasMessageContaining("64 hexadecimal");
        assertThatThrownBy(() -> tokens(List.of("bad name!:" + OPERATOR), List.of()))
                .hasMessageContaining("a name before ':'")
                .hasMessageNotContaining(OPERATOR);
    }

    @Test
    void theSettingsNeverPrintTheTokens() {
        SecuritySettings settings =
                new SecuritySettings(List.of(OPERATOR), List.of(" ", VIEWER), List.of(BALANCE), true, null);
        assertThat(settings.toString())
                .doesNotContain(OPERATOR)
                .doesNotContain(VIEWER)
                .doesNotContain(BALANCE)
                .contains("operatorTokens=1 configured", "viewerTokens=1 configured", "balanceTokens=1 configured");
    }
}
