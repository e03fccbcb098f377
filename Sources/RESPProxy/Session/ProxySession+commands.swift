import NIOCore
import RESP

/// The commands a session answers or steers itself.
extension ProxySession {
    private func text(_ b: ByteBuffer) -> String { String(buffer: b) }

    /// `AUTH [user] password`: checked by the leader; the session becomes that user.
    func auth(_ request: RESPRequest) {
        let args = request.arguments
        guard args.count == 2 || args.count == 3 else {
            local("-ERR wrong number of arguments for 'auth' command\r\n")
            return
        }
        let user = args.count == 3 ? text(args[1]) : "default"
        authenticate(user: user, password: text(args[args.count - 1])) { "+OK\r\n" }
    }

    /// Verifies credentials behind a barrier; on success runs `apply` for the reply text.
    private func authenticate(user: String, password: String, then apply: @escaping () -> String) {
        let seq = reserve()
        barrierAt = seq
        updateReading()
        upstreams.verify(user: user, password: password, proto: proto, db: db) { [self] result in
            switch result {
            case .success:
                self.user = user == "default" ? nil : user
                lastWrite = nil
                upstreams.stats.session(id, user: self.user, peer: context?.channel.remoteAddress.map { "\($0)" } ?? "?", name: name)
                deliver(seq, ByteBuffer(string: apply()))
            case .failure(let failure) where failure.fromServer:
                upstreams.stats.authFailed()
                logger.notice("AUTH refused by the leader", metadata: ["session": "\(id)", "user": "\(user)"])
                upstreams.loop.scheduleTask(in: configuration.authFailureDelay) { [self] in
                    deliver(seq, ByteBuffer(string: "-\(failure.message)\r\n"))
                }
            case .failure(let failure):
                deliver(seq, ByteBuffer(string: "-ERR resp-proxy: cannot check the password with the leader: \(failure.message)\r\n"))
            }
        }
    }

    /// `HELLO [protover [AUTH user pass] [SETNAME name]]`.
    func hello(_ request: RESPRequest) {
        let args = request.arguments.map(text)
        var version = proto
        var credentials: (String, String)?
        var newName: String?
        if args.count > 1 {
            guard let v = Int(args[1]) else {
                local("-ERR Protocol version is not an integer or out of range\r\n")
                return
            }
            guard v == 2 || v == 3 else {
                local("-NOPROTO unsupported protocol version\r\n")
                return
            }
            version = v
            var i = 2
            while i < args.count {
                let option = args[i].lowercased()
                if option == "auth", i + 2 < args.count {
                    credentials = (args[i + 1], args[i + 2])
                    i += 3
                } else if option == "setname", i + 1 < args.count {
                    newName = args[i + 1]
                    i += 2
                } else {
                    local("-ERR Syntax error in HELLO option '\(args[i])'\r\n")
                    return
                }
            }
        }
        if let newName, !Self.isValidName(newName) {
            local("-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
            return
        }
        let apply: () -> String = { [self] in
            proto = version
            if let newName { name = newName }
            return helloReply()
        }
        if let (user, password) = credentials {
            authenticate(user: user, password: password, then: apply)
        } else {
            local(apply())
        }
    }

    /// The HELLO answer in the session's protocol.
    func helloReply() -> String {
        let fields: [(String, String)] = [
            ("server", "$5\r\nredis\r\n"), ("version", bulk(upstreams.serverVersion)), ("proto", ":\(proto)\r\n"),
            ("id", ":\(id)\r\n"), ("mode", bulk("standalone")), ("role", bulk("master")),
            ("modules", proto == 3 ? "*0\r\n" : "*0\r\n"),
        ]
        var out = proto == 3 ? "%\(fields.count)\r\n" : "*\(fields.count * 2)\r\n"
        for (k, v) in fields { out += bulk(k) + v }
        return out
    }

    private func bulk(_ s: String) -> String { "$\(s.utf8.count)\r\n\(s)\r\n" }

    static func isValidName(_ name: String) -> Bool {
        name.utf8.allSatisfy { $0 >= 33 && $0 <= 126 }
    }

    /// `SELECT db`: kept by the session (links are per database).
    func select(_ request: RESPRequest) {
        guard request.arguments.count == 2 else {
            local("-ERR wrong number of arguments for 'select' command\r\n")
            return
        }
        guard let n = Int(text(request.arguments[1])) else {
            local("-ERR value is not an integer or out of range\r\n")
            return
        }
        guard n >= 0, n < configuration.databases else {
            local("-ERR DB index is out of range\r\n")
            return
        }
        db = n
        local("+OK\r\n")
    }

    /// `CLIENT SETNAME/GETNAME/ID` answered here; REPLY/TRACKING/CACHING refused (they would change a shared link).
    func client(_ request: RESPRequest, _ entry: CommandEntry) {
        guard request.arguments.count >= 2 else {
            local("-ERR wrong number of arguments for 'client' command\r\n")
            return
        }
        switch text(request.arguments[1]).lowercased() {
        case "setname":
            guard request.arguments.count == 3 else {
                local("-ERR wrong number of arguments for 'client|setname' command\r\n")
                return
            }
            let newName = text(request.arguments[2])
            guard Self.isValidName(newName) || newName.isEmpty else {
                local("-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
                return
            }
            name = newName.isEmpty ? nil : newName
            upstreams.stats.session(id, user: user, peer: context?.channel.remoteAddress.map { "\($0)" } ?? "?", name: name)
            local("+OK\r\n")
        case "getname":
            local(name.map(bulk) ?? (proto == 3 ? "_\r\n" : "$-1\r\n"))
        case "id":
            local(":\(id)\r\n")
        case let sub where ["reply", "tracking", "caching", "no-evict", "no-touch", "pause", "unpause"].contains(sub):
            local("-ERR resp-proxy: CLIENT \(sub.uppercased()) is not available through the proxy (its links are shared)\r\n")
        default:
            route(request, entry)  // not a session command after all (CLIENT LIST, CLIENT INFO…)
        }
    }

    /// `RESET`: back to a fresh connection's state.
    func reset() {
        if let link = pinned { upstreams.giveBack(link, clean: false) }
        pinned = nil
        inMulti = false
        subscription?.close()
        subscription = nil
        user = nil
        proto = 2
        db = 0
        name = nil
        lastWrite = nil
        upstreams.stats.session(id, user: nil, peer: context?.channel.remoteAddress.map { "\($0)" } ?? "?", name: nil)
        local("+RESET\r\n")
    }

    /// SUBSCRIBE and friends: on a subscription link of the session's own
    /// (the replica, as `default`, receives every PUBLISH); its frames are relayed as they come.
    func subscribe(_ request: RESPRequest) {
        if subscription == nil {
            subscription = upstreams.subscription(upstreams.replicaKey(proto: proto, db: db), for: self)
        }
        upstreams.stats.routed(.replica)
        subscription?.send(request.bytes, waiter: nil)
    }

    /// MULTI or WATCH: the session gets a link of its own (the leader as its
    /// user, or the replica as `default`) until EXEC, DISCARD or UNWATCH.
    func pin(_ request: RESPRequest, _ kind: CommandEntry.Kind) {
        if pinned == nil {
            let key = user == nil ? upstreams.replicaKey(proto: proto, db: db) : upstreams.leaderKey(user: user, proto: proto, db: db)
            pinned = upstreams.lease(key)
            pinnedDirty = false
        }
        forwardPinned(request, kind, pinned!)
    }

    /// A request on the pinned link; EXEC/DISCARD (and UNWATCH outside MULTI) release it with their reply.
    func forwardPinned(_ request: RESPRequest, _ kind: CommandEntry.Kind, _ link: UpstreamLink) {
        upstreams.stats.routed(link.key.role)
        let seq = reserve()
        if link.key.role == .leader, user != nil { lastWrite = .now() }
        link.send(request.bytes, waiter: .slot(self, seq))
        switch kind {
        case .multi: inMulti = true
        case .exec, .discard: unpin(at: seq)
        case .unwatch where !inMulti: unpin(at: seq)
        case .select, .auth, .hello, .client, .reset: pinnedDirty = true
        default: break
        }
    }
}
