import NIOCore
import NIOPosix
import Synchronization

/// A plain loopback client that counts what it receives (and, when asked,
/// keeps it as text) and notes when the peer closes; for tests that keep
/// connections open across steps.
public final class CollectingClient: Sendable {
    public let channel: any Channel
    private let collector: Collector

    /// - Parameter keepingText: keep what is received (for ``text``); off, only bytes are counted.
    public static func connect(port: Int, group: any EventLoopGroup, keepingText: Bool = false) async throws -> CollectingClient {
        let collector = Collector(keepsText: keepingText)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(collector: collector))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return CollectingClient(channel: channel, collector: collector)
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Bytes received so far.
    public var received: Int { collector.count.load(ordering: .relaxed) }
    /// What was received so far, as UTF-8 (empty unless connected with `keepingText`).
    public var text: String { collector.text.withLock { String(decoding: $0, as: UTF8.self) } }
    /// True once the connection is closed (by either side).
    public var isClosed: Bool { !channel.isActive }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Sends one byte and waits for the echo: true when the path relays.
    public func ping(timeout: Duration = .seconds(5)) async throws -> Bool {
        let before = received
        try await send("x")
        return await waitFor(timeout: timeout) { self.received > before }
    }

    public func close() async { try? await channel.close() }
}

final class Collector: Sendable {
    let count = Atomic<Int>(0)
    let keepsText: Bool
    let text = Mutex<[UInt8]>([])
    init(keepsText: Bool) { self.keepsText = keepsText }
}

final class CollectingHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let collector: Collector
    init(collector: Collector) { self.collector = collector }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        collector.count.add(bytes.readableBytes, ordering: .relaxed)
        if collector.keepsText { collector.text.withLock { $0 += bytes.readableBytesView } }
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
public func waitFor(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Thrown by ``withDeadline(_:_:)`` when the body overran.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "no result within \(limit)" }
}

/// Runs `body`, failing with ``DeadlineExceeded`` after `limit` (the body is
/// cancelled), so a test that waits for an event cannot hang the suite.
public func withDeadline<T: Sendable>(_ limit: Duration = .seconds(10),
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask { try? await Task.sleep(for: limit); return nil }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else { throw DeadlineExceeded(limit: limit) }
        return result
    }
}
