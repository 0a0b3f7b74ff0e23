package gg.starpets.handlers;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** A block of IP addresses ({@code 10.0.0.0/8}, {@code fc00::/7}), and which addresses are internal. */
record AddressBlock(byte[] network, int prefix) {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(%[0-9A-Za-z_.-]+)?");

    /** Internal IPv4 blocks the JDK's own predicates do not cover, by kind. */
    private static final List<Kind> IPV4_INTERNAL = List.of(
            new Kind("unspecified", parse("0.0.0.0/8")),
            new Kind("shared (carrier-grade NAT)", parse("100.64.0.0/10")),
            new Kind("reserved", parse("192.0.0.0/24")),
            new Kind("benchmarking", parse("198.18.0.0/15")),
            new Kind("reserved", parse("240.0.0.0/4")));

    private static final AddressBlock UNIQUE_LOCAL = parse("fc00::/7");
    /** IPv6 addresses that carry an IPv4 one, which is what they reach: NAT64, 6to4, IPv4-compatible. */
    private static final AddressBlock NAT64 = parse("64:ff9b::/96");

    private static final AddressBlock SIX_TO_FOUR = parse("2002::/16");
    private static final AddressBlock IPV4_COMPATIBLE = parse("::/96");

    private record Kind(String name, AddressBlock block) {}

    /** {@code address/prefix}, the address an IP literal ({@code [fd00::]/8} too); the prefix may be left out. */
    static AddressBlock parse(String text) {
        int slash = text.indexOf('/');
        String address = slash < 0 ? text : text.substring(0, slash);
        InetAddress parsed = literal(address);
        if (parsed == null) {
            throw new IllegalArgumentException("'" + text + "' is not an IP address or block");
        }
        int bits = parsed.getAddress().length * 8;
        int prefix = bits;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(text.substring(slash + 1));
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > bits) {
                throw new IllegalArgumentException("'" + text + "': the prefix must be 0-" + bits);
            }
        }
        return new AddressBlock(parsed.getAddress(), prefix);
    }

    /** The address an IP literal (with or without brackets) stands for; null for anything else, never looked up. */
    static InetAddress literal(String text) {
        String bare = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (!IPV4.matcher(bare).matches() && !IPV6.matcher(bare).matches()) {
            return null;
        }
        try {
            return InetAddress.getByName(bare);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.length) {
            return false;
        }
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = 0xff << (8 - rest);
        return (a[full] & mask) == (network[full] & mask);
    }

    /**
     * What kind of internal address this is ("loopback", "private", "link-local"…), or null for a
     * public unicast address.
     */
    static String internalKind(InetAddress address) {
        if (address.isAnyLocalAddress()) {
            return "unspecified";
        }
        if (address.isLoopbackAddress()) {
            return "loopback";
        }
        if (address.isLinkLocalAddress()) {
            return "link-local";
        }
        if (address.isMulticastAddress()) {
            return "multicast";
        }
        if (address.isSiteLocalAddress()) {
            return "private";
        }
        if (address instanceof Inet4Address) {
            return IPV4_INTERNAL.stream()
                    .filter(k -> k.block().contains(address))
                    .map(Kind::name)
                    .findFirst()
                    .orElse(null);
        }
        if (UNIQUE_LOCAL.contains(address)) {
            return "unique-local";
        }
        InetAddress carried = carriedIpv4((Inet6Address) address);
        return carried == null ? null : internalKind(carried);
    }

    /** The IPv4 address an IPv6 one carries (NAT64, 6to4, IPv4-compatible), or null. */
    private static InetAddress carriedIpv4(Inet6Address address) {
        byte[] a = address.getAddress();
        byte[] v4;
        if (NAT64.contains(address) || IPV4_COMPATIBLE.contains(address)) {
            v4 = Arrays.copyOfRange(a, 12, 16);
        } else if (SIX_TO_FOUR.contains(address)) {
            v4 = Arrays.copyOfRange(a, 2, 6);
        } else {
            return null;
        }
        try {
            return InetAddress.getByAddress(v4);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AddressBlock b && b.prefix == prefix && Arrays.equals(b.network, network);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(network) * 31 + prefix;
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress().toLowerCase(Locale.ROOT) + "/" + prefix;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
