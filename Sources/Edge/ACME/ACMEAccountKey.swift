import Crypto
import JSON
import Secrets

/// An ACME account key (P-256, ES256) and the JWS (RFC 7515, flattened
/// JSON serialization) requests signed with it, as RFC 8555 §6.2 wants.
public struct ACMEAccountKey: Sendable {
    let key: P256.Signing.PrivateKey

    /// A new random key.
    public init() { key = P256.Signing.PrivateKey() }

    /// A key from its PEM (PKCS#8 or SEC1).
    public init(pem: String) throws(ACMEError) {
        do { key = try P256.Signing.PrivateKey(pemRepresentation: pem) } catch { throw .key("the stored account key is not a P-256 PEM key: \(error)") }
    }

    /// PKCS#8 PEM, to be sealed before it is stored.
    public var pem: String { key.pemRepresentation }

    /// The public key as a JWK, members in the lexicographic order RFC 7638 hashes.
    var jwk: JSONValue {
        let point = Array(key.publicKey.x963Representation)  // 0x04 ‖ x ‖ y
        return .object([("crv", .string("P-256")), ("kty", .string("EC")),
                        ("x", .string(Base64.encodeURL(Array(point[1..<33])))), ("y", .string(Base64.encodeURL(Array(point[33..<65]))))])
    }

    /// The RFC 7638 thumbprint: the second half of every key authorization.
    public var thumbprint: String { Base64.encodeURL(Array(SHA256.hash(data: Array(jwk.serialized.utf8)))) }

    /// `token.thumbprint`: what the HTTP-01 challenge URL must answer.
    public func keyAuthorization(_ token: String) -> String { token + "." + thumbprint }

    /// A signed request body. `kid` (the account URL) or, before there is an account, the JWK;
    /// `payload` nil is a POST-as-GET (empty payload).
    func sign(url: String, nonce: String, kid: String?, payload: JSONValue?) throws(ACMEError) -> [UInt8] {
        var header: [(name: String, value: JSONValue)] = [("alg", .string("ES256")), ("nonce", .string(nonce)), ("url", .string(url))]
        if let kid { header.append(("kid", .string(kid))) } else { header.append(("jwk", jwk)) }
        let protected = Base64.encodeURL(Array(JSONValue.object(header).serialized.utf8))
        let body = payload.map { Base64.encodeURL(Array($0.serialized.utf8)) } ?? ""
        let signature: P256.Signing.ECDSASignature
        do { signature = try key.signature(for: Array("\(protected).\(body)".utf8)) } catch { throw .key("signing failed: \(error)") }
        let jws = JSONValue.object([("protected", .string(protected)), ("payload", .string(body)),
                                    ("signature", .string(Base64.encodeURL(Array(signature.rawRepresentation))))])
        return Array(jws.serialized.utf8)
    }
}
