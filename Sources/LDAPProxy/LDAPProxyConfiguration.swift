public import Net
public import NIOCore
public import RESP

/// Where the proxy learns its domains.
public enum LDAPDomainSourceSetting: Sendable {
    /// The cluster's Redis (REDIS-LAYOUT.md): domains, live events, and the
    /// published port map `module/<proxyID>/data/domain_port` (written as
    /// the proxy's ACL user, so `settings` should carry its credentials).
    case redis(RedisSettings, proxyID: String)
    /// A JSON file (``DomainConfigFile``), re-read on SIGHUP.
    case file(String)
}

/// Settings of `nscore ldapproxy`.
public struct LDAPProxyConfiguration: Sendable {
    public var source: LDAPDomainSourceSetting
    /// The host every listener binds (loopback unless the operator says otherwise).
    public var listenHost: String
    /// The default domain's port (3890).
    public var defaultPort: Int
    /// The default domain; nil for the first in name order.
    public var defaultDomain: String?
    /// Where per-domain ports come from.
    public var portRange: ClosedRange<Int>
    /// This node's id, for "providers on this node first" and the event payload.
    public var nodeID: Int?
    /// How often every provider's root DSE is read.
    public var checkInterval: TimeAmount
    /// TCP connect plus Start TLS plus TLS handshake, per provider attempt.
    public var connectTimeout: TimeAmount
    /// CA bundle for `tls_verify=on` instead of the system's.
    public var caFile: String?
    /// Largest LDAPMessage accepted either way.
    public var maxMessageSize: Int
    /// A client that leaves a message unfinished this long is closed; nil for never.
    public var messageTimeout: TimeAmount?
    /// Close a client idle (no bytes either way) this long; nil for never.
    public var idleTimeout: TimeAmount?
    /// Most clients per listener.
    public var maxConnections: Int
    /// Where the port map is kept between restarts when there is no Redis (optional with Redis).
    public var stateFile: String?
    /// Graceful shutdown: how long open clients may finish.
    public var drainTimeout: Duration

    /// Creates a configuration with LDAP-PROXY.md's defaults.
    public init(source: LDAPDomainSourceSetting, listenHost: String = "127.0.0.1", defaultPort: Int = 3890,
                defaultDomain: String? = nil, portRange: ClosedRange<Int> = 20000...20999, nodeID: Int? = nil,
                checkInterval: TimeAmount = .seconds(5), connectTimeout: TimeAmount = .seconds(2), caFile: String? = nil,
                maxMessageSize: Int = 16 << 20, messageTimeout: TimeAmount? = .seconds(30), idleTimeout: TimeAmount? = nil,
                maxConnections: Int = 10_000, stateFile: String? = nil, drainTimeout: Duration = .seconds(10)) {
        self.source = source
        self.listenHost = listenHost
        self.defaultPort = defaultPort
        self.defaultDomain = defaultDomain
        self.portRange = portRange
        self.nodeID = nodeID
        self.checkInterval = checkInterval
        self.connectTimeout = connectTimeout
        self.caFile = caFile
        self.maxMessageSize = maxMessageSize
        self.messageTimeout = messageTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.stateFile = stateFile
        self.drainTimeout = drainTimeout
    }
}
