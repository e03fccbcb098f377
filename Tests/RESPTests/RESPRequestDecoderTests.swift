import NIOCore
import RESP
import Testing

private func decodeAll(_ chunks: [[UInt8]], limits: RESPRequestLimits = .init()) throws -> [[String]] {
    var decoder = RESPRequestDecoder(limits: limits)
    var buffer = ByteBuffer()
    var out: [[String]] = []
    for chunk in chunks {
        buffer.writeBytes(chunk)
        while let request = try decoder.decode(buffer: &buffer) {
            if request.arguments.isEmpty { continue }
            out.append(request.arguments.map { String(buffer: $0) })
        }
    }
    return out
}

@Suite("RESP request decoder (what clients send)")
struct RESPRequestDecoderTests {
    let stream = Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nxy\r\n*1\r\n$4\r\nPING\r\nGET  \"a b\\x41\" 'c\\'d'\r\n\r\n*0\r\n*2\r\n$3\r\nget\r\n$0\r\n\r\n".utf8)
    let expected = [["SET", "k", "v\r\nxy"], ["PING"], ["GET", "a bA", "c'd"], ["get", ""]]

    @Test("multibulk and inline requests, split at every byte and fed one byte at a time")
    func splits() throws {
        #expect(try decodeAll([stream]) == expected)
        for cut in 1..<stream.count {
            #expect(try decodeAll([Array(stream[..<cut]), Array(stream[cut...])]) == expected, "cut at \(cut)")
        }
        #expect(try decodeAll(stream.map { [$0] }) == expected)
    }

    @Test("a multibulk request is forwarded as the exact bytes received; an inline one is encoded as multibulk")
    func forwardedBytes() throws {
        var decoder = RESPRequestDecoder()
        var buffer = ByteBuffer(string: "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nECHO \"x y\"\n")
        let first = try #require(try decoder.decode(buffer: &buffer))
        #expect(String(buffer: first.bytes) == "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n")
        let second = try #require(try decoder.decode(buffer: &buffer))
        #expect(String(buffer: second.bytes) == "*2\r\n$4\r\nECHO\r\n$3\r\nx y\r\n")
        #expect(buffer.readableBytes == 0)
    }

    @Test("bad input gets Redis's protocol error texts")
    func errors() throws {
        let cases: [(String, String)] = [
            ("*x\r\n", "invalid multibulk length"), ("*2\r\n+3\r\n", "expected '$', got '+'"),
            ("*1\r\n$-2\r\n", "invalid bulk length"), ("*1\r\n$x\r\n", "invalid bulk length"),
            ("*99999999\r\n", "invalid multibulk length"), ("GET \"a\n", "unbalanced quotes in request"),
            ("GET 'a'b\n", "unbalanced quotes in request"), ("*1\r\n$1000000000\r\n", "invalid bulk length"),
        ]
        for (input, message) in cases {
            #expect(throws: RESPRequestError(message), "\(input.debugDescription)") {
                _ = try decodeAll([Array(input.utf8)], limits: .init(maxArguments: 1 << 20))
            }
        }
        #expect(RESPRequestError("invalid bulk length").reply == "-ERR Protocol error: invalid bulk length\r\n")
    }

    @Test("oversized requests are refused before they are buffered")
    func limits() throws {
        let small = RESPRequestLimits(maxRequestBytes: 1024, maxInlineLength: 64)
        #expect(throws: RESPRequestError("request larger than 1024 bytes (the proxy's --max-request-size)")) {
            _ = try decodeAll([Array("*2\r\n$3\r\nSET\r\n$2000\r\n".utf8)], limits: small)
        }
        #expect(throws: RESPRequestError("too big inline request")) {
            _ = try decodeAll([[UInt8](repeating: 0x61, count: 100)], limits: small)
        }
        #expect(throws: RESPRequestError("too big mbulk count string")) {
            _ = try decodeAll([Array("*".utf8) + [UInt8](repeating: 0x31, count: 100)], limits: small)
        }
    }
}
