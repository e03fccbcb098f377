import Logging
import Net
import NIOCore
import NIOPosix
import RESP

/// Who waits for the next reply of a link.
enum ReplyWaiter {
    /// A client session's reply slot.
    case slot(ProxySession, UInt64)
    /// The link's own handshake (`HELLO`, `SELECT`).
    case handshake
    /// The proxy itself (AUTH verification on a pooled link).
    case callback((Result<RESPToken, LinkFailure>) -> Void)
}

/// Why a link cannot give a reply.
struct LinkFailure: Error, CustomStringConvertible {
    /// A server error reply (handshake refused), or our own description.
    let message: String
    let fromServer: Bool
    var description: String { message }
}

/// One connection to the replica or the leader, on one event loop, used
/// only from that loop. Requests are pipelined: replies come back in order
/// and go to the waiters in order. Writes made during one loop tick go out
/// in one write (the flush is deferred to the end of the tick).
final class UpstreamLink: @unchecked Sendable {  // used on its event loop only
    enum Use {
        /// Shared by many sessions (pipelined).
        case pooled
        /// One session's, for a transaction or a blocking command.
        case dedicated
        /// One session's subscription: every frame is handed to it as it comes.
        case subscription(ProxySession)
    }

    let key: PoolKey
    let loop: any EventLoop
    var use: Use
    private let logger: Logger
    private(set) var channel: (any Channel)?
    private(set) var isClosed = false
    private var waiters = CircularBuffer<ReplyWaiter>(initialCapacity: 16)
    private var outbound = ByteBuffer()
    private var flushScheduled = false
    private var handshakeLeft = 0
    private var helloPending = true
    /// Requests sent before the connection was made (kept apart so that a
    /// failed connect can hand them to another link instead of failing them).
    private var early: [(bytes: ByteBuffer, waiter: ReplyWaiter?)] = []
    /// Called once when the link is gone (pools forget it).
    var onClose: ((UpstreamLink) -> Void)?
    /// A failed connect: returns true when it took the early requests elsewhere.
    var onConnectFailure: (([(bytes: ByteBuffer, waiter: ReplyWaiter?)], LinkFailure) -> Bool)?
    /// The server's HELLO reply (for the proxy's own HELLO answers).
    var onHello: ((RESPToken) -> Void)?

    /// Replies still owed.
    var inFlight: Int { waiters.count + early.count }

    private init(key: PoolKey, loop: any EventLoop, use: Use, logger: Logger) {
        self.key = key
        self.loop = loop
        self.use = use
        self.logger = logger
    }

    /// Starts connecting; requests sent meanwhile are queued behind the handshake.
    static func connect(_ key: PoolKey, password: String?, use: Use, loop: any EventLoop, connectTimeout: TimeAmount,
                        logger: Logger) -> UpstreamLink {
        let link = UpstreamLink(key: key, loop: loop, use: use, logger: logger)
        var hello = ["hello", String(key.proto)]
        if let user = key.user, let password { hello += ["auth", user, password] }
        hello += ["setname", "resp-proxy"]
        RESPCommandEncoder.encode(hello, into: &link.outbound)
        link.waiters.append(.handshake)
        link.handshakeLeft = 1
        if key.db != 0 {
            RESPCommandEncoder.encode(["select", String(key.db)], into: &link.outbound)
            link.waiters.append(.handshake)
            link.handshakeLeft += 1
        }
        let bound = NIOLoopBound(link, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 << 10, maximum: 1 << 20))
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamLinkHandler(link: bound.value))
                }
            }
            .connect(host: key.endpoint.host, port: key.endpoint.port)
            .whenComplete { result in
                let link = bound.value
                switch result {
                case .success(let channel):
                    if link.isClosed { channel.close(promise: nil); return }
                    link.channel = channel
                    for (bytes, waiter) in link.early {
                        if let waiter { link.waiters.append(waiter) }
                        link.outbound.writeImmutableBuffer(bytes)
                    }
                    link.early = []
                    link.flushNow()
                case .failure(let error):
                    let failure = LinkFailure(message: "cannot connect to the \(key.role.rawValue) \(key.endpoint): \(error)", fromServer: false)
                    let early = link.early
                    link.early = []
                    if let redirect = link.onConnectFailure, !early.isEmpty, redirect(early, failure) {
                        link.fail(failure)
                    } else {
                        for (_, waiter) in early { if let waiter { link.waiters.append(waiter) } }
                        link.fail(failure)
                    }
                }
            }
        return link
    }

    /// True while the link can take requests (connecting or connected).
    var isUsable: Bool { !isClosed }

    /// True once connected and past the handshake.
    var isReady: Bool { channel != nil && handshakeLeft == 0 && !isClosed }

    /// Queues a request and its waiter; it goes out at the end of this loop tick.
    func send(_ bytes: ByteBuffer, waiter: ReplyWaiter?) {
        guard !isClosed else {
            if let waiter { Self.failWaiter(waiter, LinkFailure(message: "the link to the \(key.role.rawValue) is closed", fromServer: false)) }
            return
        }
        guard channel != nil else {
            early.append((bytes, waiter))
            return
        }
        if let waiter { waiters.append(waiter) }
        outbound.writeImmutableBuffer(bytes)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled, channel != nil else { return }
        flushScheduled = true
        loop.execute { [self] in flushNow() }
    }

    private func flushNow() {
        flushScheduled = false
        guard let channel, outbound.readableBytes > 0 else { return }
        let bytes = outbound
        outbound = channel.allocator.buffer(capacity: 0)
        channel.writeAndFlush(bytes, promise: nil)
    }

    /// A reply arrived (called by the handler, on the loop).
    func received(_ token: RESPToken) {
        if case .subscription(let session) = use, handshakeLeft == 0 {
            session.unsolicited(token)
            return
        }
        guard let waiter = waiters.popFirst() else {
            if token.isPush { return }  // a RESP3 push on a command link (e.g. after a lost subscription): nobody wants it
            fail(LinkFailure(message: "the \(key.role.rawValue) sent a reply nobody asked for", fromServer: false))
            return
        }
        switch waiter {
        case .handshake:
            handshakeLeft -= 1
            if let message = token.errorMessage {
                fail(LinkFailure(message: message, fromServer: true))
            } else if helloPending {
                helloPending = false
                onHello?(token)
            }
        case .slot(let session, let seq):
            session.deliver(seq, token.base)
        case .callback(let body):
            body(.success(token))
        }
    }

    /// The connection is gone or unusable: every waiter gets `failure`.
    func fail(_ failure: LinkFailure) {
        guard !isClosed else { return }
        isClosed = true
        if !failure.fromServer {
            logger.warning("upstream link lost", metadata: ["upstream": "\(key)", "reason": "\(failure.message)", "in_flight": "\(waiters.count)"])
        }
        let pending = waiters
        waiters.removeAll()
        for w in pending { Self.failWaiter(w, failure) }
        if case .subscription(let session) = use { session.subscriptionLost(failure) }
        channel?.close(promise: nil)
        onClose?(self)
        onClose = nil
    }

    /// Closes the link (its waiters fail).
    func close() {
        fail(LinkFailure(message: "closed by the proxy", fromServer: false))
    }

    private static func failWaiter(_ waiter: ReplyWaiter, _ failure: LinkFailure) {
        switch waiter {
        case .handshake: break
        case .slot(let session, let seq): session.failed(seq, failure)
        case .callback(let body): body(.failure(failure))
        }
    }
}

/// Frames the replies of one link (no NIOAny per reply) and hands them to it.
final class UpstreamLinkHandler: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's loop only
    typealias InboundIn = ByteBuffer
    private let link: UpstreamLink
    private var buffer = ByteBuffer()
    private var progress = RESPParseProgress()
    private let limits = RESPLimits()

    init(link: UpstreamLink) {
        self.link = link
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if buffer.readableBytes == 0 { buffer = chunk } else { buffer.writeBuffer(&chunk) }
        do {
            while !link.isClosed, let token = try RESPToken.parse(from: &buffer, limits: limits, progress: &progress) {
                link.received(token)
            }
        } catch {
            link.fail(LinkFailure(message: "the \(link.key.role.rawValue) sent invalid RESP: \(error)", fromServer: false))
        }
        if buffer.readableBytes == 0 { buffer.clear() } else { buffer.discardReadBytes() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.fail(LinkFailure(message: "connection to the \(link.key.role.rawValue) \(link.key.endpoint) closed", fromServer: false))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        link.fail(LinkFailure(message: "connection to the \(link.key.role.rawValue) \(link.key.endpoint) failed: \(error)", fromServer: false))
    }
}
