/// Why a certificate cannot be used; `exitCode` is the management command's (EDGE.md: 2–7).
public enum CertificateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The certificate PEM does not parse.
    case badCertificate(String)
    /// The private key PEM does not parse.
    case badKey(String)
    /// The key is not the certificate's.
    case keyMismatch
    /// Outside its validity period.
    case expired(String)
    /// No DNS name in CN or SAN.
    case noNames
    /// The chain does not verify.
    case untrusted(String)

    public var description: String {
        switch self {
        case .badCertificate(let why): "the certificate is not valid PEM X.509: \(why)"
        case .badKey(let why): "the private key is not a valid PEM key: \(why)"
        case .keyMismatch: "the private key does not belong to the certificate"
        case .expired(let when): "the certificate is not valid now (\(when))"
        case .noNames: "the certificate names no host (no CN, no DNS subject alternative name)"
        case .untrusted(let why): "the certificate chain does not verify: \(why)"
        }
    }

    /// Exit status of the management command that refused it.
    public var exitCode: Int32 {
        switch self {
        case .badCertificate: 2
        case .badKey: 3
        case .keyMismatch: 4
        case .expired: 5
        case .noNames: 6
        case .untrusted: 7
        }
    }
}
