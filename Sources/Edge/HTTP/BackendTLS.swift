import Net
import NIOSSL

/// TLS to `https://` backends: two client contexts made once (loading the system
/// CAs is not done per connection), verification against the system CAs unless
/// the route says `skip_cert_verify`.
enum BackendTLS {
    private static let verifying = Result { try NIOSSLContext(configuration: configuration(verify: true)) }
    private static let trusting = Result { try NIOSSLContext(configuration: configuration(verify: false)) }

    private static func configuration(verify: Bool) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !verify { configuration.certificateVerification = .none }
        // A closed backend connection is not kept in memory for NIOSSL's 5 s (TLSClose).
        configuration.shutdownTimeout = TLSClose.shutdownTimeout
        return configuration
    }

    /// The handler for one backend connection. A host name is sent as SNI and checked against the
    /// certificate; an IP address cannot be SNI — NIOSSL then checks the certificate's IP SANs
    /// against the peer's address.
    static func handler(host: String, skipVerify: Bool) throws -> NIOSSLClientHandler {
        let context = try (skipVerify ? trusting : verifying).get()
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        return try NIOSSLClientHandler(context: context, serverHostname: skipVerify || isAddress ? nil : host)
    }
}
