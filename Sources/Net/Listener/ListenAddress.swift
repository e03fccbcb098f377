/// Where a listener takes its socket from.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// Bind this address (loopback unless the operator says otherwise).
    case bind(Endpoint)
    /// Adopt the `index`-th socket passed by systemd socket activation
    /// (`LISTEN_FDS`, counting from 0).
    case systemd(index: Int)

    /// Parses `HOST:PORT`, `[IPv6]:PORT`, `systemd` or `systemd:N`.
    public init(parsing text: String) throws(EndpointError) {
        if text == "systemd" {
            self = .systemd(index: 0)
        } else if text.hasPrefix("systemd:"), let n = Int(text.dropFirst("systemd:".count)), n >= 0 {
            self = .systemd(index: n)
        } else {
            self = .bind(try Endpoint(parsing: text))
        }
    }

    public var description: String {
        switch self {
        case .bind(let e): e.description
        case .systemd(let i): "systemd:\(i)"
        }
    }
}
