import Logging
import NIOCore
import RESP

/// One client connection: frames its requests, answers the session
/// commands itself (AUTH, HELLO, SELECT, CLIENT SETNAME…), routes the rest
/// to the replica or the leader, and returns replies in request order, as
/// the exact bytes the servers sent. Lives on its channel's event loop.
final class ProxySession: ChannelInboundHandler, @unchecked Sendable {  // used on its channel's loop only
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Slot {
        case pending
        case ready(ByteBuffer)
    }

    let id: UInt64
    let upstreams: LoopUpstreams
    var configuration: RESPProxyConfiguration { upstreams.configuration }
    let logger: Logger
    private(set) var context: ChannelHandlerContext?
    private var decoder: RESPRequestDecoder
    private var input = ByteBuffer()

    // Session state (what a Redis connection remembers).
    var proto = 2
    var user: String?
    var db = 0
    var name: String?
    var lastWrite: NIODeadline?
    /// MULTI/WATCH: the leased link every command goes to until EXEC/DISCARD/UNWATCH.
    var pinned: UpstreamLink?
    var pinnedDirty = false
    var inMulti = false
    /// A link whose transaction ended (EXEC/DISCARD/UNWATCH sent): given back with that reply.
    var releasing: (seq: UInt64, link: UpstreamLink, clean: Bool)?
    /// SUBSCRIBE: the session's own subscription link.
    var subscription: UpstreamLink?
    /// While up (AUTH being checked, a blocking command running), requests wait here.
    var barrierAt: UInt64?
    var barrierLink: UpstreamLink?
    var held = CircularBuffer<RESPRequest>()

    // Replies, in request order.
    private var slots = CircularBuffer<Slot>(initialCapacity: 16)
    private var headSeq: UInt64 = 0
    private var output = ByteBuffer()
    private var flushScheduled = false
    private var readingPaused = false
    private var closeWhenFlushed = false
    private var closed = false

    init(id: UInt64, upstreams: LoopUpstreams, logger: Logger) {
        self.id = id
        self.upstreams = upstreams
        self.logger = logger
        decoder = RESPRequestDecoder(limits: upstreams.configuration.requestLimits)
    }

    var nextSeq: UInt64 { headSeq + UInt64(slots.count) }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        upstreams.stats.session(id, user: user, peer: context.channel.remoteAddress.map { "\($0)" } ?? "?", name: name)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        upstreams.stats.sessionEnded(id)
        // State that lives on a link of ours dies with the client.
        pinned.map { upstreams.giveBack($0, clean: false) }
        pinned = nil
        releasing.map { upstreams.giveBack($0.link, clean: false) }
        releasing = nil
        if let link = barrierLink, link !== pinned { upstreams.giveBack(link, clean: false) }
        barrierLink = nil
        subscription?.close()
        subscription = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if input.readableBytes == 0 { input = chunk } else { input.writeBuffer(&chunk) }
        do {
            while !closed, !closeWhenFlushed, let request = try decoder.decode(buffer: &input) {
                if request.arguments.isEmpty { continue }
                handle(request)
            }
        } catch let error as RESPRequestError {
            upstreams.stats.protocolError()
            logger.info("closing client after a protocol error", metadata: ["session": "\(id)", "error": "\(error.message)"])
            reply(error.reply)
            closeWhenFlushed = true
            input.clear()
        } catch {
            context.close(promise: nil)
        }
        if input.readableBytes == 0 { input.clear() } else { input.discardReadBytes() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client is done sending: answer what it asked, then close (as Redis does).
        if case .some(.inputClosed) = event as? ChannelEvent {
            closeWhenFlushed = true
            scheduleFlush()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        updateReading()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: requests

    /// One request: wait behind a barrier, answer locally, or forward.
    func handle(_ request: RESPRequest) {
        if barrierAt != nil {
            held.append(request)
            updateReading()
            return
        }
        let entry = upstreams.commands.entry(request.arguments[0])
        if let sub = subscription, proto == 2, entry.kind != .quit, entry.kind != .reset {
            sub.send(request.bytes, waiter: nil)  // subscribed (RESP2): the server answers everything
            return
        }
        if let pinned, !Self.isSessionCommand(entry.kind) || inMulti {
            forwardPinned(request, entry.kind, pinned)
            return
        }
        switch entry.kind {
        case .auth: auth(request)
        case .hello: hello(request)
        case .select: select(request)
        case .client: client(request, entry)
        case .quit:
            local("+OK\r\n")
            closeWhenFlushed = true
        case .reset: reset()
        case .monitor:
            local("-ERR resp-proxy: MONITOR is not available through the proxy; connect to the server itself\r\n")
        case .subscribe: subscribe(request)
        case .unsubscribe where subscription != nil:
            subscription?.send(request.bytes, waiter: nil)
        case .multi, .watch: pin(request, entry.kind)
        default: route(request, entry)
        }
    }

    /// Commands the proxy answers itself even with a pinned link (outside MULTI).
    static func isSessionCommand(_ kind: CommandEntry.Kind) -> Bool {
        switch kind {
        case .auth, .hello, .select, .client, .quit, .reset, .monitor, .subscribe: true
        default: false
        }
    }

    /// Routes by the platform's model; blocking commands get a link of their own.
    func route(_ request: RESPRequest, _ entry: CommandEntry) {
        let info = entry.isContainer ? RedisCommandTable.info(for: request.arguments) : entry.info
        let decision = configuration.router.route(info: info, arguments: request.arguments)
        let key: PoolKey
        if let user, decision.route == .privileged {
            key = upstreams.leaderKey(user: user, proto: proto, db: db)
            lastWrite = .now()
        } else if let user, configuration.readYourWrites, let last = lastWrite, .now() - last < configuration.readYourWritesWindow {
            key = upstreams.leaderKey(user: user, proto: proto, db: db)
        } else {
            key = upstreams.replicaKey(proto: proto, db: db)
        }
        upstreams.stats.routed(key.role)
        let seq = reserve()
        if entry.isBlocking || info?.flags.contains(.blocking) == true {
            let link = upstreams.lease(key)
            barrierAt = seq
            barrierLink = link
            link.send(request.bytes, waiter: .slot(self, seq))
            return
        }
        upstreams.link(key).send(request.bytes, waiter: .slot(self, seq))
    }

    // MARK: replies

    /// Adds a slot for a reply to come; returns its sequence number.
    func reserve() -> UInt64 {
        let seq = nextSeq
        slots.append(.pending)
        if slots.count >= configuration.maxPipelineDepth { updateReading() }
        return seq
    }

    /// A reply the proxy makes itself, in order.
    func local(_ text: String) {
        upstreams.stats.local()
        reply(text)
    }

    private func reply(_ text: String) {
        let seq = reserve()
        deliver(seq, ByteBuffer(string: text))
    }

    /// The reply for `seq` arrived (called by links, on the loop).
    func deliver(_ seq: UInt64, _ bytes: ByteBuffer) {
        guard !closed, seq >= headSeq else { return }
        let index = Int(seq - headSeq)
        guard index < slots.count else { return }
        slots[slots.index(slots.startIndex, offsetBy: index)] = .ready(bytes)
        if let r = releasing, r.seq == seq {
            releasing = nil
            upstreams.giveBack(r.link, clean: r.clean)
        }
        if seq == barrierAt { liftBarrier() }
        drain()
    }

    /// A link could not give the reply for `seq`.
    func failed(_ seq: UInt64, _ failure: LinkFailure) {
        let text = failure.fromServer ? "-\(failure.message)\r\n" : "-ERR resp-proxy: \(failure.message) (the command may or may not have run)\r\n"
        if pinned?.isClosed == true {
            pinned = nil
            inMulti = false
        }
        deliver(seq, ByteBuffer(string: text))
    }

    /// A frame of the subscription link (messages, confirmations), in arrival order.
    func unsolicited(_ token: RESPToken) {
        let seq = reserve()
        deliver(seq, token.base)
        if Self.subscriptionCount(token) == 0 {
            // Unsubscribed from everything: back to an ordinary connection.
            let link = subscription
            subscription = nil
            link?.close()
        }
    }

    /// The subscription link is gone: the client cannot know what it missed, so it is closed.
    func subscriptionLost(_ failure: LinkFailure) {
        guard subscription != nil, !closed else { return }
        subscription = nil
        logger.warning("closing a subscribed client: its subscription link was lost", metadata: ["session": "\(id)", "reason": "\(failure.message)"])
        reply("-ERR resp-proxy: the subscription was lost (\(failure.message)); subscribe again\r\n")
        closeWhenFlushed = true
    }

    /// The count in a (p|s)(un)subscribe confirmation, nil for other frames.
    static func subscriptionCount(_ token: RESPToken) -> Int? {
        guard let items = token.value.elements, items.count == 3, let kind = items[0].string, kind.hasSuffix("unsubscribe") else {
            return nil
        }
        return items[2].int
    }

    /// Writes every reply that is next in order.
    private func drain() {
        var wrote = false
        while case .ready(let bytes)? = slots.first {
            output.writeImmutableBuffer(bytes)
            slots.removeFirst()
            headSeq += 1
            wrote = true
        }
        if wrote || closeWhenFlushed { scheduleFlush() }
        if readingPaused { updateReading() }
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.execute { [self] in
            flushScheduled = false
            guard let context = self.context, !closed else { return }
            if output.readableBytes > 0 {
                let bytes = output
                output = context.channel.allocator.buffer(capacity: 0)
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            }
            if closeWhenFlushed, slots.isEmpty { context.close(promise: nil) }
        }
    }

    /// Reads from the client only while it keeps up and the pipeline is not too deep.
    func updateReading() {
        guard let context else { return }
        let pause = slots.count >= configuration.maxPipelineDepth || !context.channel.isWritable || barrierAt != nil
        if pause != readingPaused {
            readingPaused = pause
            context.channel.setOption(ChannelOptions.autoRead, value: !pause).whenComplete { _ in }
            if !pause { context.read() }
        }
    }

    // MARK: barriers

    /// Ends a barrier: the blocking link goes back, waiting requests run.
    func liftBarrier() {
        barrierAt = nil
        if let link = barrierLink, link !== pinned { upstreams.giveBack(link, clean: true) }
        barrierLink = nil
        while barrierAt == nil, let request = held.popFirst() { handle(request) }
        updateReading()
    }

    /// EXEC/DISCARD/UNWATCH went out on the pinned link at `seq`: later
    /// requests route normally; the link goes back with that reply.
    func unpin(at seq: UInt64) {
        if let link = pinned { releasing = (seq, link, !pinnedDirty) }
        pinned = nil
        pinnedDirty = false
        inMulti = false
    }
}
