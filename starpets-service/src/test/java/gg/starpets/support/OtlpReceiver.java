package gg.starpets.support;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real OTLP/HTTP endpoint on 127.0.0.1 that keeps the spans sent to it (protobuf, decoded with the
 * OTLP messages): what {@code OTEL_EXPORTER_OTLP_ENDPOINT} points at in the tracing tests.
 */
public final class OtlpReceiver implements AutoCloseable {

    private final HttpServer server;
    private final List<Span> spans = new CopyOnWriteArrayList<>();

    private OtlpReceiver(HttpServer server) {
        this.server = server;
    }

    public static OtlpReceiver start() {
        try {
            OtlpReceiver receiver = new OtlpReceiver(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0));
            receiver.server.createContext("/v1/traces", ex -> {
                try (InputStream in = ex.getRequestBody()) {
                    ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(in.readAllBytes());
                    request.getResourceSpansList()
                            .forEach(r -> r.getScopeSpansList().forEach(s -> receiver.spans.addAll(s.getSpansList())));
                }
                byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
                ex.getResponseHeaders().set("Content-Type", "application/x-protobuf");
                ex.sendResponseHeaders(200, answer.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(answer);
                }
            });
            receiver.server.start();
            return receiver;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The base endpoint, as {@code OTEL_EXPORTER_OTLP_ENDPOINT} takes it. */
    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    /** The spans received so far. */
    public List<Span> spans() {
        return spans;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
