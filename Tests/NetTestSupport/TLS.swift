import NIOSSL

public enum NIOSSLContextFactory {
    /// A TLS server context from PEM files.
    public static func server(certificate: String, key: String) throws -> NIOSSLContext {
        let config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try NIOSSLContext(configuration: config)
    }
}
