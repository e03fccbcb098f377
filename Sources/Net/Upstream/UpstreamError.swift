/// Why an upstream connection could not be made. Each case says what to check.
public enum UpstreamError: Error, Sendable, CustomStringConvertible {
    /// Nothing answered within the connect timeout.
    case connectTimeout(Endpoint, milliseconds: Int64)
    /// The connection was refused or failed at the socket level.
    case connectFailed(Endpoint, reason: String)
    /// TCP connected but the TLS handshake failed (certificate, name, protocol).
    case tlsHandshakeFailed(Endpoint, reason: String)
    /// The TLS client settings are unusable (e.g. unreadable CA file).
    case tlsConfiguration(String)
    /// Every endpoint of the list failed; the errors are in list order.
    case allEndpointsFailed([UpstreamError])
    /// No endpoint was configured.
    case noEndpoints

    public var description: String {
        switch self {
        case .connectTimeout(let e, let ms):
            "connect to \(e) timed out after \(ms) ms: check that the upstream is up and reachable"
        case .connectFailed(let e, let reason):
            "connect to \(e) failed: \(reason)"
        case .tlsHandshakeFailed(let e, let reason):
            "TLS handshake with \(e) failed: \(reason); check the upstream certificate, --ca-file and --tls-verify"
        case .tlsConfiguration(let reason):
            "TLS configuration error: \(reason)"
        case .allEndpointsFailed(let errors):
            "no upstream available: " + errors.map(\.description).joined(separator: "; ")
        case .noEndpoints:
            "no upstream endpoint configured"
        }
    }
}
