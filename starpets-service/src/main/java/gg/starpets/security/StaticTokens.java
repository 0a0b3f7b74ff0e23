package gg.starpets.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.oauth2.server.resource.InvalidBearerTokenException;
import org.springframework.security.oauth2.server.resource.authentication.BearerTokenAuthenticationToken;

/**
 * The bearer tokens from configuration. Only their SHA-256 digests are kept, and a presented token
 * is compared against every one of them with {@link MessageDigest#isEqual}, which takes the same
 * time wherever two digests differ. Error messages name the setting and the entry's position,
 * never its text.
 *
 * <p>An entry is a clear token, {@code sha256:<64 hex digits>} (the digest of the token, so that
 * the clear token need not be in the configuration), or either one behind {@code name:} to name
 * the caller in logs, the audit trail and the scope of its idempotency keys ({@code ci:sha256:…}).
 * A clear token is at least {@value #MIN_LENGTH} characters of the set a bearer token may carry
 * (RFC 6750), so it never contains a colon. A token listed under several roles has them all.
 */
final class StaticTokens implements AuthenticationProvider {

    static final int MIN_LENGTH = 16;
    static final String SHA256_PREFIX = "sha256:";
    /** The name a generated token is known by (logs, audit trail). */
    static final String GENERATED = "generated";

    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9\\-._~+/]+=*");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._\\-]{1,64}");
    private static final Pattern HEX_DIGEST = Pattern.compile("[0-9a-fA-F]{64}");
    /** 32 random bytes: 256 bits, as much as the digest keeps. */
    private static final int GENERATED_BYTES = 32;

    private record Token(String name, Set<Role> roles, byte[] digest) {

        List<GrantedAuthority> grants() {
            Set<GrantedAuthority> grants = new LinkedHashSet<>();
            roles.forEach(r -> grants.addAll(r.grants()));
            return List.copyOf(grants);
        }
    }

    /** Tokens made at start because none was configured, in clear for the one line that shows them. */
    record Generated(StaticTokens tokens, Map<Role, String> clear) {}

    private final List<Token> tokens;

    private StaticTokens(List<Token> tokens) {
        this.tokens = List.copyOf(tokens);
    }

    static StaticTokens of(SecuritySettings settings) {
        Map<String, Token> byDigest = new LinkedHashMap<>();
        parse(settings.operatorTokens(), Role.OPERATOR, "operator-tokens (STARPETS_OPERATOR_TOKENS)", byDigest);
        parse(settings.viewerTokens(), Role.VIEWER, "viewer-tokens (STARPETS_VIEWER_TOKENS)", byDigest);
        parse(settings.balanceTokens(), Role.BALANCE, "balance-tokens (STARPETS_BALANCE_TOKENS)", byDigest);
        return new StaticTokens(new ArrayList<>(byDigest.values()));
    }

    /**
     * An operator token and a balance token of {@value #GENERATED_BYTES} random bytes each, for a start
     * with nothing configured (as Spring Security generates a password): kept as digests like any
     * other; the clear ones are returned only to be shown once.
     */
    static Generated generate() {
        SecureRandom random = new SecureRandom();
        Map<Role, String> clear = new LinkedHashMap<>();
        List<Token> tokens = new ArrayList<>();
        for (Role role : List.of(Role.OPERATOR, Role.BALANCE)) {
            byte[] bytes = new byte[GENERATED_BYTES];
            random.nextBytes(bytes);
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            clear.put(role, token);
            tokens.add(
                    new Token(GENERATED + "-" + role.name().toLowerCase(Locale.ROOT), EnumSet.of(role), sha256(token)));
        }
        return new Generated(new StaticTokens(tokens), clear);
    }

    long count(Role role) {
        return tokens.stream().filter(t -> t.roles().contains(role)).count();
    }

    @Override
    public boolean supports(Class<?> authentication) {
        return BearerTokenAuthenticationToken.class.isAssignableFrom(authentication);
    }

    @Override
    public Authentication authenticate(Authentication authentication) {
        byte[] presented = sha256(((BearerTokenAuthenticationToken) authentication).getToken());
        Token match = null;
        for (Token token : tokens) {
            // No early exit: every digest is compared, whichever one matches.
            if (MessageDigest.isEqual(token.digest(), presented) && match == null) {
                match = token;
            }
        }
        if (match == null) {
            // An OIDC provider after this one may still accept it (ProviderManager tries the next).
            throw new InvalidBearerTokenException("The bearer token is not valid");
        }
        return UsernamePasswordAuthenticationToken.authenticated(match.name(), null, match.grants());
    }

    private static void parse(List<String> entries, Role role, String setting, Map<String, Token> into) {
        for (int i = 0; i < entries.size(); i++) {
            Token token = parse(entries.get(i), role, i + 1, "starpets.security." + setting);
            into.merge(HexFormat.of().formatHex(token.digest()), token, (first, again) -> {
                Set<Role> roles = EnumSet.copyOf(first.roles());
                roles.addAll(again.roles());
                return new Token(first.name(), roles, first.digest());
            });
        }
    }

    private static Token parse(String entry, Role role, int position, String setting) {
        String where = setting + ", entry " + position + ": ";
        String name = role.name().toLowerCase(Locale.ROOT) + "-" + position;
        String secret = entry;
        int colon = entry.indexOf(':');
        if (colon >= 0 && !entry.startsWith(SHA256_PREFIX)) {
            name = entry.substring(0, colon);
            secret = entry.substring(colon + 1);
            if (!NAME.matcher(name).matches()) {
                throw new IllegalStateException(
                        where + "a name before ':' is 1 to 64 letters, digits, '.', '_' or '-'");
            }
        }
        if (secret.startsWith(SHA256_PREFIX)) {
            String hex = secret.substring(SHA256_PREFIX.length());
            if (!HEX_DIGEST.matcher(hex).matches()) {
                throw new IllegalStateException(where + "'sha256:' is followed by 64 hexadecimal digits");
            }
            return new Token(name, EnumSet.of(role), HexFormat.of().parseHex(hex));
        }
        if (secret.length() < MIN_LENGTH) {
            throw new IllegalStateException(where + "a token is at least " + MIN_LENGTH + " characters");
        }
        if (!TOKEN.matcher(secret).matches()) {
            throw new IllegalStateException(where
                    + "a token is made of letters, digits and - . _ ~ + / (then '=' padding), as a bearer token is");
        }
        return new Token(name, EnumSet.of(role), sha256(secret));
    }

    static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
