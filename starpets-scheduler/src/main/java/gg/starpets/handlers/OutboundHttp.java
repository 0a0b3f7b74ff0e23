package gg.starpets.handlers;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.DnsResolver;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.DefaultSchemePortResolver;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.BasicHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.DefaultHttpClientConnectionOperator;
import org.apache.hc.client5.http.impl.io.ManagedHttpClientConnectionFactory;
import org.apache.hc.client5.http.io.DetachedSocketFactory;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.config.Lookup;
import org.apache.hc.core5.http.config.RegistryBuilder;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.util.Timeout;

/**
 * Sends one request over HTTP/1.1 (Apache HttpClient), following redirects itself so that every hop
 * is checked before it is sent ({@link HopCheck}: the secrets it carries may go to its host) and as it
 * connects ({@link AddressCheck}: the address). The address is checked on the socket, as it connects,
 * and is the very address the host's name was resolved to for that connection: a name resolved to an
 * internal address is refused however it resolved before (DNS rebinding), and the Host header and TLS
 * (SNI, certificate) still name the host.
 */
final class OutboundHttp {

    /** Looks a host's name up. */
    @FunctionalInterface
    interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** The JDK's own lookup. */
    static final Resolver SYSTEM = InetAddress::getAllByName;

    /** Redirects followed at most, as the JDK's client does. */
    static final int MAX_REDIRECTS = 5;

    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    /** What to send, placeholders resolved. {@code follow}: follow redirects (never from https to http). */
    record Request(String method, URI uri, Map<String, String> headers, byte[] body, boolean follow) {}

    /** An answer: its status and the first bytes of its body. */
    record Answer(int status, HeadOfBody body) {}

    /** Before a hop is sent (0: the request itself): why it may not be, or null. */
    @FunctionalInterface
    interface HopCheck {
        String refusal(URI uri, int hop);
    }

    /** Before a connection is made to {@code address} for the URL's {@code host} and {@code port}: why not, or null. */
    @FunctionalInterface
    interface AddressCheck {
        String refusal(String host, int port, InetAddress address);
    }

    /** A request not sent, or not followed, because a check refused it. */
    static final class RefusedException extends IOException {
        RefusedException(String message) {
            super(message);
        }
    }

    private final Resolver resolver;
    private final Lookup<TlsSocketStrategy> tls;

    OutboundHttp(Resolver resolver) {
        this.resolver = resolver;
        this.tls = RegistryBuilder.<TlsSocketStrategy>create()
                .register("https", DefaultClientTlsStrategy.createDefault())
                .build();
    }

    /** @param addresses null: connect anywhere */
    Exchange exchange(Request request, HopCheck hops, AddressCheck addresses) {
        return new Exchange(request, hops, addresses);
    }

    /** One request and its redirects, sent by {@link #send}; {@link #cancel} stops it from another thread. */
    final class Exchange {

        private final Request request;
        private final HopCheck hops;
        private final AddressCheck addresses;
        private volatile HttpUriRequestBase current;
        private volatile boolean cancelled;
        /** Why the last connection was refused, if it was: the client may wrap the socket's exception. */
        private volatile String refused;

        private Exchange(Request request, HopCheck hops, AddressCheck addresses) {
            this.request = request;
            this.hops = hops;
            this.addresses = addresses;
        }

        /** Sends the request, follows its redirects, and reads the answer, all by {@code deadline} ({@link System#nanoTime()}). */
        Answer send(long deadline) throws IOException {
            URI uri = request.uri();
            String method = request.method();
            byte[] body = request.body();
            for (int hop = 0; ; hop++) {
                String why = hops.refusal(uri, hop);
                if (why != null) {
                    throw new RefusedException(why);
                }
                HttpUriRequestBase sent = new HttpUriRequestBase(method, uri);
                request.headers().forEach(sent::addHeader);
                if (body != null) {
                    sent.setEntity(new ByteArrayEntity(body, null));
                }
                current = sent;
                if (cancelled) {
                    throw new InterruptedIOException("cancelled");
                }
                record Hop(Answer answer, String location) {}
                Hop answered;
                refused = null;
                try (CloseableHttpClient client = client(uri.getHost(), deadline)) {
                    answered = client.execute(sent, response -> {
                        Header location = response.getFirstHeader("Location");
                        if (request.follow() && REDIRECTS.contains(response.getCode()) && location != null) {
                            return new Hop(new Answer(response.getCode(), HeadOfBody.EMPTY), location.getValue());
                        }
                        HeadOfBody head = response.getEntity() == null
                                ? HeadOfBody.EMPTY
                                : HeadOfBody.read(response.getEntity().getContent(), HttpHandler.KEPT_BYTES);
                        return new Hop(new Answer(response.getCode(), head), null);
                    });
                } catch (IOException e) {
                    String reason = refused;
                    if (reason != null && !(e instanceof RefusedException)) {
                        throw new RefusedException(reason);
                    }
                    throw e;
                }
                URI next = answered.location() == null ? null : redirect(uri, answered.location());
                if (next == null) {
                    return answered.answer();
                }
                if (hop == MAX_REDIRECTS) {
                    throw new IOException("more than " + MAX_REDIRECTS + " redirects");
                }
                int status = answered.answer().status();
                // As browsers and the JDK's client do: a 303, or a POST answered 301 or 302, goes on as a GET.
                if (status == 303 || ((status == 301 || status == 302) && method.equals("POST"))) {
                    method = method.equals("HEAD") ? "HEAD" : "GET";
                    body = null;
                }
                uri = next;
            }
        }

        /** Stops the exchange: a connection open now is closed, no further hop is sent. */
        void cancel() {
            cancelled = true;
            HttpUriRequestBase r = current;
            if (r != null) {
                r.cancel();
            }
        }

        /** Where a redirect goes; null where it is not followed (not http or https, or from https to http). */
        private static URI redirect(URI from, String location) {
            URI to;
            try {
                to = from.resolve(location);
            } catch (IllegalArgumentException e) {
                return null;
            }
            String scheme = to.getScheme() == null ? "" : to.getScheme().toLowerCase(Locale.ROOT);
            boolean web = scheme.equals("http") || scheme.equals("https");
            boolean downgrade = scheme.equals("http") && "https".equalsIgnoreCase(from.getScheme());
            return web && to.getHost() != null && !downgrade ? to : null;
        }

        /**
         * A client for one hop: one connection, to addresses the resolver gives for the host, made by a
         * socket that checks the address first. Nothing else is added: no retries, cookies, compression
         * or redirects of its own.
         */
        private CloseableHttpClient client(String host, long deadline) {
            Timeout left = Timeout.of(
                    Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())), TimeUnit.MILLISECONDS);
            DetachedSocketFactory sockets = proxy -> addresses == null ? new Socket() : new CheckedSocket(host);
            DnsResolver dns = new DnsResolver() {
                @Override
                public InetAddress[] resolve(String name) throws UnknownHostException {
                    return resolver.resolve(name);
                }

                @Override
                public String resolveCanonicalHostname(String name) {
                    return name;
                }
            };
            var manager = new BasicHttpClientConnectionManager(
                    new DefaultHttpClientConnectionOperator(sockets, DefaultSchemePortResolver.INSTANCE, dns, tls),
                    ManagedHttpClientConnectionFactory.INSTANCE);
            manager.setConnectionConfig(ConnectionConfig.custom()
                    .setConnectTimeout(left)
                    .setSocketTimeout(left)
                    .build());
            return HttpClients.custom()
                    .setConnectionManager(manager)
                    .setDefaultRequestConfig(RequestConfig.custom()
                            .setResponseTimeout(left)
                            .setProtocolUpgradeEnabled(false)
                            .build())
                    .disableRedirectHandling()
                    .disableAutomaticRetries()
                    .disableCookieManagement()
                    .disableAuthCaching()
                    .disableContentCompression()
                    .build();
        }

        /** Connects only to an address the check allows: the address it is given, already resolved. */
        private final class CheckedSocket extends Socket {

            private final String host;

            CheckedSocket(String host) {
                this.host = host;
            }

            @Override
            public void connect(SocketAddress endpoint, int timeout) throws IOException {
                String why = endpoint instanceof InetSocketAddress a && !a.isUnresolved()
                        ? addresses.refusal(host, a.getPort(), a.getAddress())
                        : "not connected to an unresolved address " + endpoint;
                if (why != null) {
                    refused = why;
                    throw new RefusedException(why);
                }
                super.connect(endpoint, timeout);
                // Connected after a refused address of the same name: what fails from now on is not the refusal.
                refused = null;
            }
        }
    }
}
