import Logging
import Net
import NIOCore
import RESP

/// The upstream links of one event loop (used only on it): one shared,
/// pipelined link per ``PoolKey``, spare dedicated links for transactions
/// and blocking commands, the passwords verified for each user (to open
/// more links as that user), and whether the replica is down.
final class LoopUpstreams: @unchecked Sendable {  // used on its event loop only
    let loop: any EventLoop
    let configuration: RESPProxyConfiguration
    let leader: LeaderAddress
    let stats: ProxyStats
    let logger: Logger
    /// Command entries by name (one lookup per name, not per request).
    let commands = CommandCache()
    private var shared: [PoolKey: UpstreamLink] = [:]
    private var spares: [PoolKey: [UpstreamLink]] = [:]
    private var leased = 0
    private var passwords: [String: String] = [:]
    private var replicaDownUntil: NIODeadline?
    /// The server's version from the first HELLO reply (for the proxy's own HELLO answers).
    private(set) var serverVersion = "7.0.0"

    init(loop: any EventLoop, configuration: RESPProxyConfiguration, leader: LeaderAddress, stats: ProxyStats, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.leader = leader
        self.stats = stats
        self.logger = logger
        loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in self?.sweep() }
    }

    /// Closes idle links to a former leader (after `leader-changed`); busy ones finish first.
    private func sweep() {
        let now = leader.endpoint
        for link in Array(shared.values) + spares.values.flatMap({ $0 })
        where link.key.role == .leader && link.key.endpoint != now && link.inFlight == 0 {
            logger.info("closing an idle link to the former leader", metadata: ["upstream": "\(link.key)"])
            link.close()
        }
    }

    /// The key of the replica for `proto`/`db`, or of the leader as `default` while the replica is down.
    func replicaKey(proto: Int, db: Int) -> PoolKey {
        if let until = replicaDownUntil {
            if NIODeadline.now() < until {
                return PoolKey(role: .leader, endpoint: leader.endpoint, user: nil, proto: proto, db: db)
            }
            replicaDownUntil = nil
        }
        return PoolKey(role: .replica, endpoint: configuration.replica, user: nil, proto: proto, db: db)
    }

    /// The key of the leader as `user`.
    func leaderKey(user: String?, proto: Int, db: Int) -> PoolKey {
        PoolKey(role: .leader, endpoint: leader.endpoint, user: user, proto: proto, db: db)
    }

    /// The shared link of `key`, connecting one when there is none.
    func link(_ key: PoolKey) -> UpstreamLink {
        if let link = shared[key], link.isUsable { return link }
        let link = open(key, use: .pooled)
        shared[key] = link
        return link
    }

    /// A link for one session alone (a spare, or a new one).
    func lease(_ key: PoolKey) -> UpstreamLink {
        leased += 1
        while var list = spares[key], let spare = list.popLast() {
            spares[key] = list
            if spare.isUsable { spare.use = .dedicated; return spare }
        }
        return open(key, use: .dedicated)
    }

    /// Takes a leased link back: kept as a spare when `clean` (no state
    /// left on it) and the pool of spares is not full, closed otherwise.
    func giveBack(_ link: UpstreamLink, clean: Bool) {
        leased -= 1
        let list = spares[link.key] ?? []
        if clean, link.isUsable, link.inFlight == 0, list.count < configuration.maxSpareLinks, link.key.endpoint == current(link.key) {
            spares[link.key] = list + [link]
        } else {
            link.close()
        }
    }

    /// A subscription link for one session (never pooled).
    func subscription(_ key: PoolKey, for session: ProxySession) -> UpstreamLink {
        open(key, use: .subscription(session))
    }

    private func current(_ key: PoolKey) -> Endpoint {
        key.role == .leader ? leader.endpoint : configuration.replica
    }

    private func open(_ key: PoolKey, use: UpstreamLink.Use) -> UpstreamLink {
        let link = UpstreamLink.connect(key, password: key.user.flatMap { passwords[$0] }, use: use, loop: loop,
                                        connectTimeout: configuration.connectTimeout, logger: logger)
        stats.linkOpened(key.role)
        link.onHello = { [weak self] token in self?.noteHello(token) }
        link.onClose = { [weak self] closed in
            guard let self else { return }
            self.stats.linkClosed(closed.key.role)
            if self.shared[closed.key] === closed { self.shared[closed.key] = nil }
            self.spares[closed.key]?.removeAll { $0 === closed }
            if closed.key.role == .replica, !closed.isReady { self.markReplicaDown() }
        }
        if key.role == .replica, case .pooled = use {
            // The replica is down: its reads go to the leader (as `default`, the same identity).
            link.onConnectFailure = { [weak self] early, _ in
                guard let self else { return false }
                self.markReplicaDown()
                let fallback = self.link(PoolKey(role: .leader, endpoint: self.leader.endpoint, user: nil, proto: key.proto, db: key.db))
                for (bytes, waiter) in early { fallback.send(bytes, waiter: waiter) }
                return true
            }
        }
        return link
    }

    private func markReplicaDown() {
        if replicaDownUntil == nil {
            logger.warning("replica \(configuration.replica) unreachable: public reads go to the leader \(leader.endpoint) for now")
        }
        replicaDownUntil = .now() + configuration.replicaRetry
    }

    private func noteHello(_ token: RESPToken) {
        guard let pairs = token.value.pairs ?? token.value.elements.map({ e in
            stride(from: 0, to: e.count - 1, by: 2).map { (key: e[$0], value: e[$0 + 1]) }
        }) else { return }
        for (k, v) in pairs where k.string == "version" { if let version = v.string { serverVersion = version } }
    }

    /// Checks `user`/`password` with the leader by an `AUTH` on this user's
    /// shared link (a wrong password leaves a link as it was). A link made
    /// for the check logs in with the last good password of the user, if
    /// any; one that logged in as nobody and fails the check is closed.
    func verify(user: String, password: String, proto: Int, db: Int,
                _ done: @escaping (Result<Void, LinkFailure>) -> Void) {
        let key = leaderKey(user: user == "default" ? nil : user, proto: proto, db: db)
        let fresh = !(shared[key]?.isUsable ?? false)
        let known = passwords[user] != nil
        let link = self.link(key)
        var auth = ByteBuffer()
        RESPCommandEncoder.encode(["auth", user, password], into: &auth)
        link.send(auth, waiter: .callback { [weak self] result in
            switch result {
            case .success(let token):
                if let message = token.errorMessage {
                    if fresh && !known && key.user != nil { link.close() }
                    done(.failure(LinkFailure(message: message, fromServer: true)))
                } else {
                    self?.passwords[user] = password
                    done(.success(()))
                }
            case .failure(let failure):
                done(.failure(failure))
            }
        })
    }

    /// What this loop holds, for `nscore resp-proxy status`.
    func snapshot() -> [(key: String, use: String, inFlight: Int)] {
        shared.values.map { ($0.key.description, "shared", $0.inFlight) }
            + spares.values.flatMap { $0 }.map { ($0.key.description, "spare", $0.inFlight) }
    }

    /// Leased links now (dedicated to a session).
    var leasedCount: Int { leased }
}
