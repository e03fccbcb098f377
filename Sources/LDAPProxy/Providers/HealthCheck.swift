import NIOCore

/// The active health check: every provider's root DSE read anonymously
/// over a connection set up as clients' are (TLS, Start TLS, verification).
struct HealthChecker: Sendable {
    let connector: ProviderConnector
    let health: ProviderHealth
    let group: any EventLoopGroup
    /// For the whole check (connect, Start TLS, handshake, answer).
    let timeout: TimeAmount

    /// Checks every provider at once and records the results.
    func checkAll(_ providers: Set<LDAPProvider>) async {
        await withTaskGroup(of: Void.self) { tasks in
            for provider in providers { tasks.addTask { await check(provider) } }
        }
    }

    func check(_ provider: LDAPProvider) async {
        do {
            try await probe(provider)
            health.record(provider, up: true, via: "health check")
        } catch {
            health.record(provider, up: false, error: "\(error)", via: "health check")
        }
    }

    private func probe(_ provider: LDAPProvider) async throws {
        let loop = group.next()
        let channel = try await connector.connect(provider, on: loop).get()
        let done = loop.makePromise(of: Void.self)
        let timeout = self.timeout
        do {
            try await loop.submit {
                try channel.pipeline.syncOperations.addHandler(RootDSEProbe(done: done, timeout: timeout))
                // Reads on: closing TLS waits for the provider's close_notify, which must be read.
                try channel.syncOptions?.setOption(.autoRead, value: true)
            }.get()
        } catch {
            done.fail(error)
            channel.close(promise: nil)
        }
        try await done.futureResult.get()
    }
}

/// One health check on a connected provider channel: read the root DSE
/// anonymously (base search, `namingContexts`) and expect `success`.
final class RootDSEProbe: ChannelInboundHandler, @unchecked Sendable {  // its channel's loop only
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<Void>
    private let timeout: TimeAmount
    private var buffer = ByteBuffer()
    private var finished = false
    private var timer: Scheduled<Void>?

    init(done: EventLoopPromise<Void>, timeout: TimeAmount) {
        self.done = done
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let ms = timeout.nanoseconds / 1_000_000
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (probe, context) = loopBound.value
            probe.finish(context, .failure(ProbeFailed(reason: "no answer to a root DSE search within \(ms) ms")))
        }
        context.writeAndFlush(NIOAny(LDAPMessages.rootDSESearch(id: 1)), promise: nil)
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        do {
            while let frame = try LDAPMessageFrame.parse(from: &buffer, limit: 1 << 20) {
                guard frame.operation == .searchResultDone else { continue }
                let code = frame.resultCode ?? -1
                finish(context, code == 0 ? .success(()) : .failure(ProbeFailed(reason: "root DSE search answered result code \(code)")))
                return
            }
            context.read()
        } catch {
            finish(context, .failure(ProbeFailed(reason: "\(error)")))
        }
    }

    private func finish(_ context: ChannelHandlerContext, _ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        done.completeWith(result)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context, .failure(ProbeFailed(reason: "the provider closed the connection before answering")))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context, .failure(ProbeFailed(reason: "\(error)")))
    }
}

/// A health check that did not pass.
struct ProbeFailed: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
