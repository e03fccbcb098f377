import Benchmark
import Net
import NetTestSupport
import NIOCore
import NIOEmbedded

/// Relaying one message through a RelayHandler pair on embedded channels:
/// read on the client side, write + flush on the upstream side, drain.
/// Tracks time and mallocs per relayed message (the harness's own
/// EmbeddedChannel bookkeeping is included; compare across commits).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        maxDuration: .seconds(2)
    )

    Benchmark("relay 64-byte message") { benchmark in
        let (_, client, upstream) = try makeEmbeddedRelay()
        let message = ByteBuffer(repeating: 0x2a, count: 64)

        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            client.pipeline.fireChannelRead(NIOAny(message))
            client.pipeline.fireChannelReadComplete()
            blackHole(try upstream.readOutbound(as: ByteBuffer.self))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("endpoint parse") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Endpoint(parsing: "ldap.example.org:636"))
        }
    }
}
