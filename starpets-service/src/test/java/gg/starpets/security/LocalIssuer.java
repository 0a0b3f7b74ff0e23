package gg.starpets.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.function.Consumer;

/**
 * A real OpenID Connect issuer on 127.0.0.1, as far as a resource server sees one: a discovery
 * document, a JWK set with the public half of a key generated here, and signed access tokens.
 */
final class LocalIssuer implements AutoCloseable {

    static final String AUDIENCE = "starpets";

    private final HttpServer server;
    private final RSAKey key;
    private volatile boolean keysAvailable = true;

    private LocalIssuer() {
        try {
            key = newKey("issuer-key-1");
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/.well-known/openid-configuration", exchange -> answer(exchange, 200, discovery()));
        server.createContext("/jwks", exchange -> {
            if (keysAvailable) {
                answer(exchange, 200, new JWKSet(key.toPublicJWK()).toString());
            } else {
                answer(exchange, 503, "{}");
            }
        });
        server.start();
    }

    static LocalIssuer start() {
        return new LocalIssuer();
    }

    String uri() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** While false, the JWK set answers 503, as an issuer that is down. */
    void keysAvailable(boolean available) {
        keysAvailable = available;
    }

    /** A valid access token for {@code subject} with these roles in the {@code roles} claim. */
    String token(String subject, List<String> roles) {
        return token(key, claims -> claims.subject(subject).claim("roles", roles));
    }

    /** A token signed by {@code signer}, valid for five minutes unless {@code claims} says otherwise. */
    String token(RSAKey signer, Consumer<JWTClaimsSet.Builder> claims) {
        Instant now = Instant.now();
        JWTClaimsSet.Builder builder = new JWTClaimsSet.Builder()
                .issuer(uri())
                .audience(AUDIENCE)
                .subject("someone")
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(Duration.ofMinutes(5))));
        claims.accept(builder);
        SignedJWT jwt = new SignedJWT(
                new JWSHeader.Builder(JWSAlgorithm.RS256)
                        .keyID(signer.getKeyID())
                        .type(JOSEObjectType.JWT)
                        .build(),
                builder.build());
        try {
            jwt.sign(new RSASSASigner(signer));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        return jwt.serialize();
    }

    RSAKey key() {
        return key;
    }

    static RSAKey newKey(String id) {
        try {
            return new RSAKeyGenerator(2048).keyID(id).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    private String discovery() {
        return "{\"issuer\":\"" + uri() + "\",\"jwks_uri\":\"" + uri() + "/jwks\","
                + "\"subject_types_supported\":[\"public\"],\"id_token_signing_alg_values_supported\":[\"RS256\"]}";
    }

    private static void answer(HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        try (var out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
