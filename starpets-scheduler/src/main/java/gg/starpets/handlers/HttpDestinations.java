package gg.starpets.handlers;

import java.net.InetAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Where {@code http} tasks created over the API may connect: any public address, and the internal
 * ones (loopback, private, link-local and so cloud metadata, unique-local, multicast, unspecified…)
 * that {@code STARPETS_HTTP_ALLOWED_DESTINATIONS} names: a host ({@code *.example.org} for any name
 * below it), {@code host:port}, or a block of addresses ({@code 10.0.0.0/8}). A host matches the URL's
 * host as written, an address or block the address connected to. Checked on the address each
 * connection is actually made to, hop by hop ({@link OutboundHttp}).
 */
public final class HttpDestinations {

    /** Nothing internal is open. */
    public static final HttpDestinations NONE = new HttpDestinations(List.of(), List.of());

    private final List<HostPattern> hosts;
    private final List<AddressBlock> blocks;

    private HttpDestinations(List<HostPattern> hosts, List<AddressBlock> blocks) {
        this.hosts = List.copyOf(hosts);
        this.blocks = List.copyOf(blocks);
    }

    /** The entries of {@code STARPETS_HTTP_ALLOWED_DESTINATIONS}; a malformed one stops the start. */
    public static HttpDestinations parse(Collection<String> entries) {
        List<HostPattern> hosts = new ArrayList<>();
        List<AddressBlock> blocks = new ArrayList<>();
        for (String entry : entries) {
            String e = entry.strip();
            if (e.isEmpty()) {
                continue;
            }
            try {
                if (e.contains("/")) {
                    blocks.add(AddressBlock.parse(e));
                } else {
                    HostPattern host = HostPattern.parse(e);
                    if (host.address() != null && host.port() == -1) {
                        blocks.add(AddressBlock.parse(host.name()));
                    } else {
                        hosts.add(host);
                    }
                }
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(
                        "STARPETS_HTTP_ALLOWED_DESTINATIONS (starpets.handlers.http-allowed-destinations): "
                                + ex.getMessage());
            }
        }
        return new HttpDestinations(hosts, blocks);
    }

    /**
     * Why a task created over the API may not connect to {@code address}, reached for the URL's
     * {@code host} and {@code port}; null when it may.
     */
    String refusal(String host, int port, InetAddress address) {
        String kind = AddressBlock.internalKind(address);
        if (kind == null
                || blocks.stream().anyMatch(b -> b.contains(address))
                || hosts.stream().anyMatch(h -> h.matches(host, port) || h.matches(address, port))) {
            return null;
        }
        return address.getHostAddress() + " (for " + HostPattern.normalized(host) + ":" + port + ") is a " + kind
                + " address: tasks created over the API reach only public addresses and those named in"
                + " STARPETS_HTTP_ALLOWED_DESTINATIONS";
    }

    /**
     * Why a task created over the API may not send to {@code uri} as written, before any lookup: its host
     * is an internal address written as such (an IP literal, {@code localhost}); null when it may. A name
     * is looked up only when the request is sent, and checked then ({@link OutboundHttp}).
     */
    String refusalAsWritten(URI uri) {
        String host = HostPattern.normalized(uri.getHost());
        InetAddress literal = host.equals("localhost") || host.endsWith(".localhost")
                ? InetAddress.getLoopbackAddress()
                : AddressBlock.literal(uri.getHost());
        return literal == null ? null : refusal(uri.getHost(), port(uri), literal);
    }

    /** The port a URL connects to: its own, or its scheme's. */
    static int port(URI uri) {
        return uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    @Override
    public String toString() {
        List<String> all = new ArrayList<>();
        hosts.forEach(h -> all.add(h.toString()));
        blocks.forEach(b -> all.add(b.toString()));
        return String.join(",", all);
    }
}
