/// Checks of IDNA2008 A-labels (`xn--…`) for the `hostname` format:
/// Punycode (RFC 3492) decoding, then the label rules of RFC 5891 §5.4
/// and the exceptions and contextual rules of RFC 5892, with code point
/// classes read from the standard library's Unicode properties.
enum IDNA {
    /// True when `encoded` (the part after `xn--`) decodes to a valid U-label.
    static func isValidALabel(_ encoded: String) -> Bool {
        guard let label = punycodeDecode(encoded), !label.isEmpty, !label.allSatisfy(\.isASCII) else { return false }
        if label.count >= 4, label[2] == "-", label[3] == "-" { return false }
        if let first = label.first, isMark(first) { return false }
        for (i, c) in label.enumerated() {
            guard isAllowed(c, at: i, in: label) else { return false }
        }
        let arabicIndic = label.contains { (0x0660...0x0669).contains($0.value) }
        let extended = label.contains { (0x06F0...0x06F9).contains($0.value) }
        return !(arabicIndic && extended)
    }

    private static let exceptionsPVALID: Set<UInt32> = [0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007]
    private static let exceptionsDISALLOWED: Set<UInt32> = [0x0640, 0x07FA, 0x302E, 0x302F, 0x3031, 0x3032, 0x3033,
                                                             0x3034, 0x3035, 0x303B]

    private static func isMark(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    private static func isAllowed(_ c: Unicode.Scalar, at i: Int, in label: [Unicode.Scalar]) -> Bool {
        let v = c.value
        if exceptionsPVALID.contains(v) { return true }
        if exceptionsDISALLOWED.contains(v) { return false }
        let before = i > 0 ? label[i - 1] : nil
        let after = i + 1 < label.count ? label[i + 1] : nil
        switch v {
        case 0x00B7: return before == "l" && after == "l"
        case 0x0375: return after.map(isGreek) ?? false
        case 0x05F3, 0x05F4: return before.map(isHebrew) ?? false
        case 0x30FB: return label.contains { $0.value != 0x30FB && (isKana($0) || isHan($0)) }
        case 0x200D: return before.map(isVirama) ?? false
        case 0x200C:
            if before.map(isVirama) ?? false { return true }
            return (before.map(isJoiningLetter) ?? false) && (after.map(isJoiningLetter) ?? false)
        case 0x2D, 0x30...0x39, 0x61...0x7A: return true  // LDH, lower case
        default: break
        }
        if v < 0x80 { return false }
        switch c.properties.generalCategory {
        case .lowercaseLetter, .otherLetter, .modifierLetter, .nonspacingMark, .spacingMark, .decimalNumber:
            return !c.properties.changesWhenNFKCCaseFolded
        default:
            return false
        }
    }

    private static func isVirama(_ c: Unicode.Scalar) -> Bool { c.properties.canonicalCombiningClass == .virama }
    private static func isGreek(_ c: Unicode.Scalar) -> Bool { (0x0370...0x03FF).contains(c.value) || (0x1F00...0x1FFF).contains(c.value) }
    private static func isHebrew(_ c: Unicode.Scalar) -> Bool { (0x0590...0x05FF).contains(c.value) || (0xFB1D...0xFB4F).contains(c.value) }
    private static func isKana(_ c: Unicode.Scalar) -> Bool {
        (0x3040...0x30FF).contains(c.value) || (0x31F0...0x31FF).contains(c.value) || (0xFF66...0xFF9F).contains(c.value)
    }
    private static func isHan(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        return (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2FA1F).contains(v)
            || (0xF900...0xFAFF).contains(v) || v == 0x3005 || v == 0x3007 || (0x3021...0x3029).contains(v)
    }
    /// Letters of the joining scripts (Arabic, Syriac, N'Ko, Mongolian, Phags-pa): an approximation of
    /// Joining_Type L/D/R for RFC 5892's ZERO WIDTH NON-JOINER rule.
    private static func isJoiningLetter(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        let scripts = (0x0620...0x06FF).contains(v) || (0x0700...0x074F).contains(v) || (0x07C0...0x07FF).contains(v)
            || (0x1800...0x18AF).contains(v) || (0xA840...0xA87F).contains(v)
        return scripts && c.properties.isAlphabetic
    }

    /// RFC 3492 decoding; nil for invalid input.
    static func punycodeDecode(_ input: String) -> [Unicode.Scalar]? {
        let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
        var n = 128, i = 0, bias = 72
        let bytes = Array(input.utf8)
        var output: [UInt32] = []
        var start = 0
        if let delimiter = bytes.lastIndex(of: UInt8(ascii: "-")) {
            for b in bytes[..<delimiter] {
                guard b < 0x80 else { return nil }
                output.append(UInt32(b))
            }
            start = delimiter + 1
        }
        func digit(_ b: UInt8) -> Int? {
            switch b {
            case 0x30...0x39: Int(b) - 22
            case 0x41...0x5A: Int(b) - 0x41
            case 0x61...0x7A: Int(b) - 0x61
            default: nil
            }
        }
        func adapt(_ delta: Int, _ count: Int, _ first: Bool) -> Int {
            var delta = first ? delta / damp : delta / 2
            delta += delta / count
            var k = 0
            while delta > ((base - tMin) * tMax) / 2 {
                delta /= base - tMin
                k += base
            }
            return k + (base - tMin + 1) * delta / (delta + skew)
        }
        var pos = start
        while pos < bytes.count {
            let oldI = i
            var w = 1
            var k = base
            while true {
                guard pos < bytes.count, let d = digit(bytes[pos]) else { return nil }
                pos += 1
                let (mul, o1) = d.multipliedReportingOverflow(by: w)
                let (sum, o2) = i.addingReportingOverflow(mul)
                guard !o1, !o2, sum < Int(Int32.max) else { return nil }
                i = sum
                let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if d < t { break }
                let (nw, o3) = w.multipliedReportingOverflow(by: base - t)
                guard !o3 else { return nil }
                w = nw
                k += base
            }
            bias = adapt(i - oldI, output.count + 1, oldI == 0)
            n += i / (output.count + 1)
            guard n <= 0x10FFFF else { return nil }
            i %= output.count + 1
            output.insert(UInt32(n), at: i)
            i += 1
        }
        var scalars: [Unicode.Scalar] = []
        for v in output {
            guard let s = Unicode.Scalar(v) else { return nil }
            scalars.append(s)
        }
        return scalars
    }
}
