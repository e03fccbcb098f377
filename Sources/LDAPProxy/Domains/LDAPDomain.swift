public import Net

/// How the proxy talks to a provider.
public enum LDAPTLSMode: String, Sendable, Equatable {
    /// Clear text.
    case off
    /// LDAPS: TLS from the first byte.
    case on
    /// Clear text, the Start TLS extended operation, then TLS.
    case starttls
}

/// One account provider of a domain.
public struct LDAPProvider: Sendable, Hashable, CustomStringConvertible {
    public var endpoint: Endpoint
    /// The node it runs on (internal providers), for "this node first".
    public var node: Int?
    public var tls: LDAPTLSMode
    public var tlsVerify: Bool

    public init(endpoint: Endpoint, node: Int? = nil, tls: LDAPTLSMode = .off, tlsVerify: Bool = true) {
        self.endpoint = endpoint
        self.node = node
        self.tls = tls
        self.tlsVerify = tlsVerify
    }

    public var description: String { "\(endpoint)" + (tls == .off ? "" : " (\(tls.rawValue))") }
}

/// A user domain and its providers (REDIS-LAYOUT.md; LDAP-PROXY.md).
public struct LDAPDomain: Sendable, Equatable {
    public var name: String
    /// `ad` or `rfc2307`.
    public var schema: String
    public var baseDN: String
    /// Service credentials modules use to bind (kept in memory only, never logged).
    public var bindDN: String
    public var bindPassword: String
    /// In order; at most the first 9 of an external domain.
    public var providers: [LDAPProvider]
    /// True when the domain came from module service records (it wins over an external one).
    public var isInternal: Bool

    public init(name: String, schema: String = "rfc2307", baseDN: String = "", bindDN: String = "", bindPassword: String = "",
                providers: [LDAPProvider], isInternal: Bool = false) {
        self.name = name
        self.schema = schema
        self.baseDN = baseDN
        self.bindDN = bindDN
        self.bindPassword = bindPassword
        self.providers = providers
        self.isInternal = isInternal
    }

    /// The most providers of an external domain that are used.
    public static let maxProviders = 9
}

/// Values of the platform's hashes: `on`/`off` switches.
enum Switch {
    static func isOn(_ value: String?, default fallback: Bool) -> Bool {
        switch value?.lowercased() {
        case "on", "true", "1", "yes": true
        case "off", "false", "0", "no": false
        default: fallback
        }
    }
}
