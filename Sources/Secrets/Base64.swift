import CSodium

/// Standard base64 (RFC 4648 §4, with padding) through libsodium.
public enum Base64 {
    /// `bytes` as base64 text.
    public static func encode(_ bytes: [UInt8]) -> String {
        let variant = Int32(sodium_base64_VARIANT_ORIGINAL)
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
