import CSodium

/// Standard base64 (RFC 4648 §4, with padding) through libsodium.
public enum Base64 {
    /// `bytes` as base64 text.
    public static func encode(_ bytes: [UInt8]) -> String { encode(bytes, variant: Int32(sodium_base64_VARIANT_ORIGINAL)) }

    /// `bytes` as unpadded base64url (RFC 4648 §5), as JOSE/ACME want it.
    public static func encodeURL(_ bytes: [UInt8]) -> String { encode(bytes, variant: Int32(sodium_base64_VARIANT_URLSAFE_NO_PADDING)) }

    private static func encode(_ bytes: [UInt8], variant: Int32) -> String {
        let size = sodium_base64_encoded_len(bytes.count, variant)
        var out = [CChar](repeating: 0, count: size)
        bytes.withUnsafeBufferPointer { b in
            _ = sodium_bin2base64(&out, size, b.baseAddress, b.count, variant)
        }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of base64 `text` (surrounding white space ignored); nil if it is not base64.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
        let input = Array(text.utf8.drop(while: isSpace).reversed().drop(while: isSpace).reversed()).map { CChar(bitPattern: $0) }
        if input.isEmpty { return [] }
        var out = [UInt8](repeating: 0, count: input.count / 4 * 3 + 3)
        var length = 0
        let complete: Bool = input.withUnsafeBufferPointer { chars in
            var end: UnsafePointer<CChar>? = nil
            let rc = sodium_base642bin(&out, out.count, chars.baseAddress, chars.count, nil, &length, &end,
                                       Int32(sodium_base64_VARIANT_ORIGINAL))
            return rc == 0 && end == chars.baseAddress! + chars.count
        }
        return complete ? Array(out.prefix(length)) : nil
    }
}

/// Random secrets from libsodium's CSPRNG.
public enum RandomSecret {
    /// `bytes` random bytes as lower-case hex (a password of 2 × bytes characters).
    public static func hex(bytes: Int = 24) -> String {
        _ = Sodium.ready
        var raw = [UInt8](repeating: 0, count: bytes)
        randombytes_buf(&raw, bytes)
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: raw.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// SHA-256 of `text` as lower-case hex (Redis ACL `#<hash>` passwords).
    public static func sha256Hex(_ text: String) -> String {
        _ = Sodium.ready
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        let bytes = Array(text.utf8)
        crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: out.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
}
