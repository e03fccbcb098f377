import Net
import NIOConcurrencyHelpers
import NIOCore
public import NIOSSL

/// The certificates every HTTPS listener serves, chosen per handshake by SNI:
/// an exact name, then a one-level wildcard (`*.b.org` for `a.b.org`, not
/// for `x.a.b.org`), then the default. The whole table is replaced at once
/// (``replace(with:default:)``), so a handshake sees the old set or the new
/// one, never half of each; open connections keep what they negotiated.
public final class CertificateStore: Sendable {
    /// One certificate, ready for NIOSSL.
    struct Entry: Sendable {
        let certificate: EdgeCertificate
        let chain: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKeySource
    }

    struct Table: Sendable {
        var exact: [String: Entry] = [:]
        var wildcard: [String: Entry] = [:]
        var fallback: Entry?
    }

    private let table = NIOLockedValueBox(Table())

    public init() {}

    /// Replaces every certificate; `default` serves names nothing else covers.
    /// - Throws: when NIOSSL cannot load one of them (nothing is replaced then).
    public func replace(with certificates: [EdgeCertificate], default fallback: EdgeCertificate?) throws {
        var next = Table()
        // Later certificates do not displace earlier ones for the same name: pass the preferred first.
        for certificate in certificates {
            let entry = try Self.entry(certificate)
            for name in certificate.names {
                if name.hasPrefix("*.") {
                    if next.wildcard[String(name.dropFirst(2))] == nil { next.wildcard[String(name.dropFirst(2))] = entry }
                } else if next.exact[name] == nil {
                    next.exact[name] = entry
                }
            }
        }
        next.fallback = try fallback.map(Self.entry)
        table.withLockedValue { $0 = next }
    }

    private static func entry(_ certificate: EdgeCertificate) throws -> Entry {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.chainPEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(bytes: Array(certificate.keyPEM.utf8), format: .pem)
        return Entry(certificate: certificate, chain: chain, key: .privateKey(key))
    }

    /// The certificate a handshake for `serverName` gets (nil: none at all).
    public func certificate(for serverName: String?) -> EdgeCertificate? {
        select(serverName)?.certificate
    }

    func select(_ serverName: String?) -> Entry? {
        table.withLockedValue { t in
            guard let name = serverName?.lowercased(), !name.isEmpty else { return t.fallback }
            if let e = t.exact[name] { return e }
            if let dot = name.firstIndex(of: "."), let e = t.wildcard[String(name[name.index(after: dot)...])] { return e }
            return t.fallback
        }
    }

    /// The server TLS configuration of a listener backed by this store: TLS 1.2
    /// and 1.3 only, modern AEAD suites, the certificate chosen per handshake.
    /// - Parameter applicationProtocols: ALPN, in preference order.
    public func serverConfiguration(applicationProtocols: [String] = ["http/1.1"]) throws -> TLSConfiguration {
        guard let initial = select(nil) ?? table.withLockedValue({ $0.exact.values.first }) else {
            throw CertificateError.noNames
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: initial.chain, privateKey: initial.key)
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuiteValues = [
            .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ]
        configuration.applicationProtocols = applicationProtocols
        // Not NIOSSL's 5 s: each connection closed meanwhile stays in memory that long (TLSClose).
        configuration.shutdownTimeout = TLSClose.shutdownTimeout
        configuration.sslContextCallback = { [self] values, promise in
            var override = NIOSSLContextConfigurationOverride()
            if let entry = self.select(values.serverHostname) {
                override.certificateChain = entry.chain
                override.privateKey = entry.key
            }
            promise.succeed(override)
        }
        return configuration
    }
}
