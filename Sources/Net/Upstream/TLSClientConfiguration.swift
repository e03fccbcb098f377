public import NIOSSL

/// How to speak TLS to an upstream.
public struct TLSClientConfiguration: Sendable, Equatable {
    /// Verify the upstream's certificate chain and name (default on).
    public var verify: Bool
    /// PEM file of CA certificates to trust instead of the system's.
    public var caFile: String?
    /// Name sent by SNI and checked against the certificate; when nil, the
    /// endpoint's host is used if it is a name, and the certificate is
    /// checked against the IP address if it is an IP literal.
    public var serverName: String?

    /// Creates a TLS client configuration.
    public init(verify: Bool = true, caFile: String? = nil, serverName: String? = nil) {
        self.verify = verify
        self.caFile = caFile
        self.serverName = serverName
    }

    /// Builds the NIOSSL context once; connections share it.
    /// - Throws: ``UpstreamError/tlsConfiguration(_:)`` when the CA file cannot be loaded.
    public func makeContext() throws(UpstreamError) -> NIOSSLContext {
        var tls = NIOSSL.TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = verify ? .fullVerification : .none
        // How long a close waits for the server's close_notify. Many servers
        // (slapd among them) answer ours by closing without one, and with
        // half-closure allowed the socket would then sit in CLOSE-WAIT for
        // NIOSSL's default 5 s (and hold up the event loops' shutdown).
        tls.shutdownTimeout = TLSClose.shutdownTimeout
        if let caFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else {
                    throw UpstreamError.tlsConfiguration("CA file \(caFile) holds no PEM certificate")
                }
                tls.trustRoots = .certificates(roots)
            } catch let error as UpstreamError {
                throw error
            } catch {
                throw .tlsConfiguration("cannot load CA file \(caFile): \(error)")
            }
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .tlsConfiguration("cannot create TLS context: \(error)")
        }
    }
}
