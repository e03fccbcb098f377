import Benchmark
import NIOCore
import RESP

/// The RESP codec's hot paths, per reply or command: time and mallocs.
/// The input stream is built before measuring; each iteration takes one
/// token off it (as RESPTokenDecoder does inside a channel) and decodes it.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        maxDuration: .seconds(2)
    )

    func stream(of reply: String, count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(reply.utf8.count * count)
        for _ in 0..<count { buffer.writeString(reply) }
        return buffer
    }

    // The harness's own mallocs per sample: subtract from the figures below.
    Benchmark("baseline (empty measured loop)") { benchmark in
        var x = 0
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { x &+= i }
        benchmark.stopMeasurement()
        blackHole(x)
    }

    Benchmark("decode GET reply (token)") { benchmark in
        var buffer = stream(of: "$11\r\nhello world\r\n", count: benchmark.scaledIterations.count)
        var decoder = RESPTokenDecoder()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try decoder.decode(buffer: &buffer))
        }
        benchmark.stopMeasurement()
    }

    let array100 = "*100\r\n" + String(repeating: "$8\r\nvalue:42\r\n", count: 100)
    Benchmark("decode 100-element array reply (token)") { benchmark in
        var buffer = stream(of: array100, count: benchmark.scaledIterations.count)
        var decoder = RESPTokenDecoder()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try decoder.decode(buffer: &buffer))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("decode 100-element array reply (token + RESPValue tree)") { benchmark in
        var buffer = stream(of: array100, count: benchmark.scaledIterations.count)
        var decoder = RESPTokenDecoder()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try decoder.decode(buffer: &buffer)?.value)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("encode SET command") { benchmark in
        let command = ["SET", "module/mail1/greeting", "hello world"]
        var buffer = ByteBuffer()
        buffer.reserveCapacity(128)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.clear()
            RESPCommandEncoder.encode(command, into: &buffer)
            blackHole(buffer.readableBytes)
        }
        benchmark.stopMeasurement()
    }
}
