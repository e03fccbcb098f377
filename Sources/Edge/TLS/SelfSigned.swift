import Crypto
public import FoundationEssentials
import X509

/// The default certificate an edge makes for itself when it has none.
public enum SelfSigned {
    /// A P-256 self-signed certificate for `names` (the first is the CN), valid `days` from now.
    public static func make(names: [String], days: Int = 825, now: Date = Date()) throws -> EdgeCertificate {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            CommonName(names.first ?? "localhost")
            OrganizationName("nscore edge (self-signed)")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now - 3600, notValidAfter: now + Double(days) * 86400,
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                KeyUsage(digitalSignature: true)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names.map { GeneralName.dnsName($0) })
            },
            issuerPrivateKey: key)
        return try EdgeCertificate(chainPEM: try certificate.serializeAsPEM().pemString, keyPEM: try key.serializeAsPEM().pemString,
                                   custom: false, requireValidNow: false)
    }
}
