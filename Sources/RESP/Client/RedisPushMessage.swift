import NIOCore

/// A pub/sub push, read from a RESP3 `>` push or a RESP2 array.
enum RedisPushMessage {
    case message(channel: String, payload: ByteBuffer, pattern: String?)
    case subscribed
    case other

    /// True for RESP3 pushes and for the RESP2 arrays a subscribed
    /// connection receives (`message`, `pmessage`, `subscribe`, …).
    @Sendable static func isPush(_ token: RESPToken) -> Bool {
        if token.isPush { return true }
        guard case .array(let items) = token.value, let first = items.first, case .bulkString(let kind) = first else {
            return false
        }
        return ["message", "pmessage", "subscribe", "psubscribe", "unsubscribe", "punsubscribe"]
            .contains(String(buffer: kind))
    }

    init(_ token: RESPToken) {
        let items: [RESPValue]
        switch token.value {
        case .push(let i), .array(let i): items = i
        default: self = .other; return
        }
        func text(_ i: Int) -> String? {
            guard i < items.count, case .bulkString(let b) = items[i] else { return nil }
            return String(buffer: b)
        }
        switch text(0) {
        case "message":
            guard let channel = text(1), items.count == 3, case .bulkString(let payload) = items[2] else { self = .other; return }
            self = .message(channel: channel, payload: payload, pattern: nil)
        case "pmessage":
            guard let pattern = text(1), let channel = text(2), items.count == 4,
                  case .bulkString(let payload) = items[3] else { self = .other; return }
            self = .message(channel: channel, payload: payload, pattern: pattern)
        case "subscribe", "psubscribe":
            self = .subscribed
        default:
            self = .other
        }
    }
}
