import Net
import NetTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("tcp-proxy listener: limit, idle timeout, graceful drain", .timeLimit(.minutes(3)))
struct ListenerTests {
    @Test("connections beyond the limit are refused and counted")
    func connectionLimit() async throws {
        let echo = try await TestServer(group: group) { [EchoHandler()] }
        defer { Task { await echo.close() } }
        try await withProxy(upstreams: [local(echo.port)], maxConnections: 2) { listener, port in
            let a = try await CollectingClient.connect(port: port, group: group)
            let b = try await CollectingClient.connect(port: port, group: group)
            let pa = try await a.ping(), pb = try await b.ping()
            let relaying = pa && pb
            #expect(relaying)
            let c = try await CollectingClient.connect(port: port, group: group)
            try? await c.send("x")
            let refusedClosed = await eventually { c.isClosed }
            #expect(refusedClosed)
            #expect(c.received == 0)
            #expect(listener.registry.refusedCount == 1)
            #expect(listener.registry.activeCount == 2)

            await a.close()
            let one = await eventually { listener.registry.activeCount == 1 }
            #expect(one)
            let d = try await CollectingClient.connect(port: port, group: group)
            let dRelays = try await d.ping()
            #expect(dRelays)
            await d.close()
            await b.close()
        }
    }

    @Test("an idle connection is closed after the idle timeout; an active one is not")
    func idleTimeout() async throws {
        let echo = try await TestServer(group: group) { [EchoHandler()] }
        defer { Task { await echo.close() } }
        // Margins are wide (3 s timeout, a byte every 100 ms) so a loaded CI machine does not flake: with
        // 1 s, the full suite's gigabyte transfers on 2 cores once starved the sender past the timeout.
        try await withProxy(upstreams: [local(echo.port)], idleTimeout: .seconds(3)) { listener, port in
            let idle = try await CollectingClient.connect(port: port, group: group)
            let active = try await CollectingClient.connect(port: port, group: group)
            let pi = try await idle.ping(), pa = try await active.ping()
            let relaying = pi && pa
            #expect(relaying)
            // Keep `active` busy for 4 s (more than one idle period) with a byte every 100 ms.
            for _ in 0..<40 {
                try await active.send("y")
                try await Task.sleep(for: .milliseconds(100))
            }
            let idleClosed = await eventually(timeout: .seconds(3)) { idle.isClosed }
            #expect(idleClosed)
            #expect(!active.isClosed)
            let oneLeft = await eventually { listener.registry.activeCount == 1 }
            #expect(oneLeft)
            await active.close()
        }
    }

    @Test("graceful drain: no new connections, in-flight transfers finish")
    func gracefulDrain() async throws {
        let progress = SourceProgress()
        // 4 MiB in 64 KiB slices every 20 ms: about 1.3 s of transfer.
        let pattern = Pattern(length: 4 << 20, seed: 5)
        let source = try await TestServer(group: group) {
            [SourceHandler(pattern: pattern, interval: .milliseconds(20), progress: progress)]
        }
        defer { Task { await source.close() } }
        try await withProxy(upstreams: [local(source.port)]) { listener, port in
            let connection = try await TestClient.connect(port: port, group: group)
            try await connection.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Int.self) { tasks in
                    tasks.addTask {
                        let whole = try await TestClient.drain(inbound) == pattern.checksum
                        outbound.finish()  // done: the client closes its side too
                        return whole ? 1 : 0
                    }
                    tasks.addTask {
                        // Drain once the proxy has accepted the connection and relays (the source has written):
                        // a fixed sleep let a loaded run drain while the connection still sat in the kernel's
                        // accept queue, and closing the listening socket resets those (ECONNRESET).
                        let relaying = await waitFor(timeout: .seconds(10)) { progress.bytesWritten > 0 }
                        #expect(relaying, "the source never wrote: the proxy did not connect upstream")
                        #expect(progress.bytesWritten < pattern.length, "transfer must still be in flight")
                        return await listener.drain(deadline: .seconds(20)) == 0 ? 2 : 0
                    }
                    tasks.addTask {
                        // Once the drain has begun (not after a fixed sleep: a loaded run may start it late).
                        // A connect that still lands between the registry's flag and the socket's close is
                        // refused at accept, so it does not hold the drain.
                        guard await waitFor(timeout: .seconds(10), { listener.registry.isDraining }) else { return 0 }
                        let refused = await waitFor(timeout: .seconds(5)) {
                            (try? await CollectingClient.connect(port: port, group: group)) == nil
                        }
                        return refused ? 4 : 0
                    }
                    var flags = 0
                    for try await f in tasks { flags |= f }
                    #expect(flags & 1 != 0, "the in-flight transfer arrived whole")
                    #expect(flags & 2 != 0, "the drain finished without closing anything")
                    #expect(flags & 4 != 0, "new connections are refused while draining")
                }
            }
        }
    }

    @Test("drain deadline closes connections that do not finish")
    func drainDeadline() async throws {
        let echo = try await TestServer(group: group) { [EchoHandler()] }
        defer { Task { await echo.close() } }
        try await withProxy(upstreams: [local(echo.port)]) { listener, port in
            let idle = try await CollectingClient.connect(port: port, group: group)
            let relaying = try await idle.ping()
            #expect(relaying)
            let clock = ContinuousClock()
            let start = clock.now
            let forced = await listener.drain(deadline: .milliseconds(300))
            #expect(forced == 1)
            #expect(clock.now - start < .seconds(3))
            let closed = await eventually { idle.isClosed }
            #expect(closed)
        }
    }
}
