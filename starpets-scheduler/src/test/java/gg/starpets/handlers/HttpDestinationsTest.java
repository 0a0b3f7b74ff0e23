package gg.starpets.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which addresses tasks created over the API may reach, and what the setting opens. */
class HttpDestinationsTest {

    private static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }

    @Test
    void everyInternalAddressHasItsKindAndPublicOnesNone() throws UnknownHostException {
        Map<String, String> kinds = new LinkedHashMap<>();
        kinds.put("127.0.0.1", "loopback");
        kinds.put("127.255.0.9", "loopback");
        kinds.put("::1", "loopback");
        kinds.put("169.254.169.254", "link-local");
        kinds.put("fe80::1", "link-local");
        kinds.put("10.1.2.3", "private");
        kinds.put("172.16.0.1", "private");
        kinds.put("172.31.255.254", "private");
        kinds.put("192.168.1.1", "private");
        kinds.put("fd00::2", "unique-local");
        kinds.put("fc00::1", "unique-local");
        kinds.put("224.0.0.1", "multicast");
        kinds.put("ff02::1", "multicast");
        kinds.put("0.0.0.0", "unspecified");
        kinds.put("::", "unspecified");
        kinds.put("0.1.2.3", "unspecified");
        kinds.put("100.100.100.200", "shared (carrier-grade NAT)");
        kinds.put("198.18.0.1", "benchmarking");
        kinds.put("255.255.255.255", "reserved");
        // IPv6 forms that carry an IPv4 address reach it.
        kinds.put("::ffff:127.0.0.1", "loopback");
        kinds.put("::ffff:169.254.169.254", "link-local");
        kinds.put("64:ff9b::a00:1", "private");
        kinds.put("2002:7f00:1::", "loopback");
        kinds.put("::10.0.0.1", "private");

        kinds.forEach((address, kind) -> {
            try {
                assertThat(AddressBlock.internalKind(ip(address))).as(address).isEqualTo(kind);
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        });
        for (String address :
                List.of("1.1.1.1", "93.184.216.34", "172.32.0.1", "2606:4700::1111", "64:ff9b::808:808")) {
            assertThat(AddressBlock.internalKind(ip(address))).as(address).isNull();
        }
    }

    @Test
    void theSettingOpensHostsHostsAndPortsAndBlocks() throws UnknownHostException {
        HttpDestinations open = HttpDestinations.parse(
                List.of("reports.internal", "*.svc.cluster.local:8080", "10.0.0.0/8", "192.168.1.5:9000", "[fd00::7]"));

        assertThat(open.refusal("reports.internal", 443, ip("10.9.9.9"))).isNull();
        assertThat(open.refusal("REPORTS.internal.", 8443, ip("192.168.7.7"))).isNull();
        assertThat(open.refusal("api.svc.cluster.local", 8080, ip("172.20.0.4")))
                .isNull();
        assertThat(open.refusal("api.svc.cluster.local", 80, ip("172.20.0.4"))).contains("is a private address");
        assertThat(open.refusal("anything.example", 80, ip("10.200.0.1"))).isNull();
        assertThat(open.refusal("anything.example", 9000, ip("192.168.1.5"))).isNull();
        assertThat(open.refusal("anything.example", 9001, ip("192.168.1.5"))).isNotNull();
        assertThat(open.refusal("anything.example", 80, ip("fd00::7"))).isNull();
        assertThat(open.refusal("anything.example", 80, ip("fd00::8")))
                .isEqualTo("fd00:0:0:0:0:0:0:8 (for"
                        + " anything.example:80) is a unique-local address: tasks created over the API reach only public"
                        + " addresses and those named in STARPETS_HTTP_ALLOWED_DESTINATIONS");
        assertThat(open.refusal("anything.example", 80, ip("169.254.169.254"))).contains("link-local");
        // Public addresses need no entry.
        assertThat(HttpDestinations.NONE.refusal("example.org", 443, ip("93.184.216.34")))
                .isNull();
    }

    @Test
    void aMalformedEntryStopsTheStart() {
        for (String entry : List.of("10.0.0.0/33", "10.0.0/8", "not a host", "host:0", "host:http", "*.:80")) {
            assertThatThrownBy(() -> HttpDestinations.parse(List.of(entry)))
                    .as(entry)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(
                            "STARPETS_HTTP_ALLOWED_DESTINATIONS (starpets.handlers.http-allowed-destinations): ");
        }
    }
}
