public import NIOCore

/// One whole LDAPMessage (RFC 4511 §4.1.1): `SEQUENCE { messageID INTEGER,
/// protocolOp [APPLICATION n], controls [0] OPTIONAL }`, kept as its bytes.
/// Only the envelope is read: the operation is never decoded or changed.
public struct LDAPMessageFrame: Sendable, Equatable {
    /// The message id (0 only for unsolicited notifications).
    public let messageID: Int32
    public let operation: LDAPOperation
    /// Exactly the bytes of the message, outer tag to last content byte.
    public let bytes: ByteBuffer
    /// Where the protocolOp's contents start and how long they are, within `bytes`.
    let opContents: Range<Int>

    /// For final responses: the LDAPResult's resultCode (0 = success).
    public var resultCode: Int? {
        guard operation.carriesResult else { return nil }
        var reader = BERReader(bytes, range: opContents)
        guard let element = try? reader.element(), element.tag == 0x0A, let code = element.integerValue else { return nil }
        return code
    }

    /// For a bind request: the DN (for a debug log line; the credentials are never read).
    public var bindDN: String? {
        guard operation == .bindRequest else { return nil }
        var reader = BERReader(bytes, range: opContents)
        guard (try? reader.element())?.tag == 0x02, let name = try? reader.element(), name.tag == 0x04 else { return nil }
        return name.stringValue
    }

    /// For an abandon request: the message id it abandons.
    public var abandonedID: Int32? {
        guard operation == .abandonRequest else { return nil }
        return BERElement(tag: 0x50, contents: opContents, buffer: bytes).integerValue.flatMap { Int32(exactly: $0) }
    }

    /// For an extended request or response: its OID (requestName `[0]` / responseName `[10]`).
    public var extendedName: String? {
        var reader = BERReader(bytes, range: opContents)
        while let element = try? reader.element() {
            if operation == .extendedRequest && element.tag == 0x80 { return element.stringValue }
            if operation == .extendedResponse && element.tag == 0x8A { return element.stringValue }
        }
        return nil
    }
}

/// Why bytes cannot be an LDAPMessage. The client that sent them is closed.
public enum LDAPFramingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a SEQUENCE, or an envelope that does not parse.
    case notAnLDAPMessage(String)
    /// An indefinite length (`0x80`), forbidden in LDAP's BER.
    case indefiniteLength
    /// A length encoded on more than 4 bytes, or one that cannot fit the message.
    case invalidLength(String)
    /// Longer than the limit (`--max-message-size`); refused before buffering.
    case tooLarge(claimed: Int, limit: Int)

    public var description: String {
        switch self {
        case .notAnLDAPMessage(let why): "not an LDAPMessage: \(why)"
        case .indefiniteLength: "indefinite BER length (not allowed in LDAP)"
        case .invalidLength(let why): "invalid BER length: \(why)"
        case .tooLarge(let claimed, let limit): "message of \(claimed) bytes is over the limit of \(limit) (--max-message-size)"
        }
    }
}

extension LDAPMessageFrame {
    /// Takes one whole message off the front of `buffer`; nil while it is incomplete.
    /// The claimed length is checked against `limit` as soon as the header is in.
    public static func parse(from buffer: inout ByteBuffer, limit: Int) throws(LDAPFramingError) -> LDAPMessageFrame? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard first == 0x30 else { throw .notAnLDAPMessage(String(format: "starts with tag 0x%02x, not SEQUENCE", first)) }
        guard let (length, header) = try BERReader.length(buffer, at: 1, available: buffer.readableBytes) else { return nil }
        let total = header + length
        guard total <= limit else { throw .tooLarge(claimed: total, limit: limit) }
        guard buffer.readableBytes >= total else { return nil }
        guard let bytes = buffer.readSlice(length: total) else { return nil }
        var reader = BERReader(bytes, range: header..<total)
        let id: BERElement, op: BERElement
        do {
            id = try reader.element()
            op = try reader.element()
        } catch {
            throw .notAnLDAPMessage("\(error)")
        }
        guard id.tag == 0x02, let messageID = id.integerValue, messageID >= 0, messageID <= Int(Int32.max) else {
            throw .notAnLDAPMessage("no messageID INTEGER")
        }
        guard op.tag & 0xC0 == 0x40, let operation = LDAPOperation(rawValue: op.tag & 0x1F) else {
            throw .notAnLDAPMessage(String(format: "protocolOp tag 0x%02x is not an LDAP operation", op.tag))
        }
        return LDAPMessageFrame(messageID: Int32(messageID), operation: operation, bytes: bytes, opContents: op.contents)
    }
}

extension String {
    /// `String(format:)` for one byte, without Foundation.
    init(format: String, _ byte: UInt8) {
        let hex = String(byte, radix: 16)
        self = format.replacing("%02x", with: hex.count == 1 ? "0" + hex : hex)
    }
}
