import Logging
import NIOCore
import RESP
import Synchronization

/// The agent's end of `<agent id>/tasks`: `BRPOP` on a connection of its
/// own, so that a stop can half-close it (``interrupt()``) without losing
/// an item the server popped at that very moment.
final class TaskQueue: Sendable {
    private let endpoint: RedisEndpoint
    private let key: String
    private let group: any EventLoopGroup
    private let state = Mutex<(connection: RedisConnection?, interrupted: Bool)>((nil, false))

    init(endpoint: RedisEndpoint, key: String, group: any EventLoopGroup) {
        self.endpoint = endpoint
        self.key = key
        self.group = group
    }

    /// `BRPOP key <timeout>`: the item, nil when the timeout passed, or when interrupted.
    /// - Throws: a Redis error; the connection is dropped and remade on the next call.
    func pop(timeout: Duration, onSent: () -> Void = {}) async throws(RedisClientError) -> String? {
        let connection = try await current()
        onSent()
        let ms = max(1, Int(timeout.components.seconds) * 1000 + Int(timeout.components.attoseconds / 1_000_000_000_000_000))
        let seconds = Self.seconds(ms)
        do throws(RedisClientError) {
            let reply = try await connection.blockingCommand(["brpop", key, seconds], serverTimeout: .milliseconds(Int64(ms))).value
            if reply == .null { return nil }
            guard let items = reply.elements, items.count == 2, let value = items[1].string else {
                throw .unexpectedType(expected: "[key, value]", got: reply.typeName)
            }
            return value
        } catch {
            drop(connection)
            if state.withLock({ $0.interrupted }), error == .connectionClosed { return nil }
            throw error
        }
    }

    private func current() async throws(RedisClientError) -> RedisConnection {
        if let live = state.withLock({ $0.connection }), live.isActive { return live }
        if state.withLock({ $0.interrupted }) { throw .clientClosed }
        let made = try await RedisConnection.connect(host: endpoint.address.host, port: endpoint.address.port,
                                                     configuration: endpoint.configuration, group: group)
        let keep = state.withLock { s -> Bool in
            if s.interrupted { return false }
            s.connection = made
            return true
        }
        if !keep {
            await made.close()
            throw .clientClosed
        }
        return made
    }

    private func drop(_ connection: RedisConnection) {
        state.withLock { s in if s.connection === connection { s.connection = nil } }
        Task { await connection.close() }
    }

    /// True once ``interrupt()`` was called.
    var isInterrupted: Bool { state.withLock { $0.interrupted } }

    /// A BRPOP timeout argument: whole seconds as `5`, else `0.075`.
    static func seconds(_ ms: Int) -> String {
        if ms % 1000 == 0 { return String(ms / 1000) }
        let fraction = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// Ends the pop in flight, safely: the server either delivers the item it
    /// popped or drops us without popping. Later pops return nil at once.
    func interrupt() async {
        let connection = state.withLock { s -> RedisConnection? in
            s.interrupted = true
            return s.connection
        }
        await connection?.finishWriting()
    }
}

