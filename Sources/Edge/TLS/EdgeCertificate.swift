public import FoundationEssentials
import X509

/// A certificate the edge serves: the chain and key as PEM, checked on creation,
/// with the host names it covers (DNS SANs, else the CN) and its validity.
public struct EdgeCertificate: Sendable, Equatable {
    public let chainPEM: String
    public let keyPEM: String
    /// Lower-cased; may include one-level wildcards (`*.example.org`).
    public let names: [String]
    public let notValidBefore: Date
    public let notValidAfter: Date
    /// Uploaded (true) or obtained by the edge (ACME, self-signed).
    public let custom: Bool

    /// Parses and checks a chain (leaf first) and its key.
    /// - Throws: ``CertificateError`` for bad PEM, a key of another certificate, no names;
    ///   with `requireValidNow`, a certificate outside its validity period.
    public init(chainPEM: String, keyPEM: String, custom: Bool, requireValidNow: Bool = true, now: Date = Date()) throws(CertificateError) {
        let blocks = Self.pemBlocks(chainPEM, label: "CERTIFICATE")
        guard !blocks.isEmpty else { throw .badCertificate("no CERTIFICATE block") }
        let chain: [Certificate]
        do { chain = try blocks.map { try Certificate(pemEncoded: $0) } } catch { throw .badCertificate("\(error)") }
        let key: Certificate.PrivateKey
        do { key = try Certificate.PrivateKey(pemEncoded: keyPEM) } catch { throw .badKey("\(error)") }
        let leaf = chain[0]
        guard key.publicKey == leaf.publicKey else { throw .keyMismatch }
        if requireValidNow, now < leaf.notValidBefore || now > leaf.notValidAfter {
            throw .expired("valid \(leaf.notValidBefore) to \(leaf.notValidAfter)")
        }
        let names = Self.names(of: leaf)
        guard !names.isEmpty else { throw .noNames }
        self.chainPEM = blocks.joined(separator: "\n") + "\n"
        self.keyPEM = keyPEM
        self.names = names
        notValidBefore = leaf.notValidBefore
        notValidAfter = leaf.notValidAfter
        self.custom = custom
    }

    /// DNS subject alternative names, else the CN, lower-cased.
    static func names(of leaf: Certificate) -> [String] {
        var names: [String] = []
        if let sans = try? leaf.extensions.subjectAlternativeNames {
            for case .dnsName(let name) in sans { names.append(name.lowercased()) }
        }
        if names.isEmpty {
            for rdn in leaf.subject {
                for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                    names.append("\(attribute.value)".lowercased())
                }
            }
        }
        return names
    }

    /// Checks that the chain leads to a trusted root: the system's CAs (Debian's
    /// ca-certificates) or, with `allowSelfSigned`, also any certificate of the upload itself
    /// (a self-signed certificate, or a private CA sent along).
    public func verifyChain(allowSelfSigned: Bool, now: Date = Date()) async throws(CertificateError) {
        let chain = Self.pemBlocks(chainPEM, label: "CERTIFICATE").compactMap { try? Certificate(pemEncoded: $0) }
        guard let leaf = chain.first else { throw .badCertificate("no CERTIFICATE block") }
        // A self-signed leaf (often without the CA flag a root would need) is its own root.
        if allowSelfSigned, leaf.issuer == leaf.subject, leaf.publicKey.isValidSignature(leaf.signature, for: leaf) { return }
        let roots = allowSelfSigned ? X509.CertificateStore.systemTrustRoots.appending(contentsOf: chain) : X509.CertificateStore.systemTrustRoots
        var verifier = Verifier(rootCertificates: roots) { RFC5280Policy(validationTime: now) }
        switch await verifier.validate(leaf: leaf, intermediates: X509.CertificateStore(chain.dropFirst())) {
        case .validCertificate: return
        case .couldNotValidate(let failures):
            let why = failures.first.map { "\($0.policyFailureReason)" } ?? "no chain to a trusted root"
            throw .untrusted(allowSelfSigned ? why : why + " (not signed by a system CA; --allow-self-signed accepts a chain that ends in the upload itself)")
        }
    }

    /// Names and validity of a stored chain, without its key (for listings).
    public static func summary(chainPEM: String) -> (names: [String], notValidBefore: Date, notValidAfter: Date)? {
        guard let first = pemBlocks(chainPEM, label: "CERTIFICATE").first, let leaf = try? Certificate(pemEncoded: first) else { return nil }
        return (names(of: leaf), leaf.notValidBefore, leaf.notValidAfter)
    }

    /// `valid`, `expiring` (under 30 days left) or `expired` for a validity period.
    public static func status(notValidBefore: Date, notValidAfter: Date, now: Date = Date()) -> String {
        if now > notValidAfter || now < notValidBefore { return "expired" }
        return notValidAfter.timeIntervalSince(now) < 30 * 86400 ? "expiring" : "valid"
    }

    /// `valid`, `expiring` (under 30 days left) or `expired`.
    public func status(now: Date = Date()) -> String {
        Self.status(notValidBefore: notValidBefore, notValidAfter: notValidAfter, now: now)
    }

    /// The `-----BEGIN label-----` … `-----END label-----` blocks of a PEM text.
    static func pemBlocks(_ text: String, label: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = String(line.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            if trimmed == "-----BEGIN \(label)-----" { current = [Substring(trimmed)]; continue }
            guard current != nil else { continue }
            current!.append(Substring(trimmed))
            if trimmed == "-----END \(label)-----" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            }
        }
        return blocks
    }
}
