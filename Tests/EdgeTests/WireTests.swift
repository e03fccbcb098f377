@testable import Edge
import NIOCore
import Testing

private func parse(_ text: String, _ kind: HeadParser.Kind = .request, maxBytes: Int = 64 * 1024) throws(HTTPWireError) -> MessageHead? {
    var parser = HeadParser(kind, maxBytes: maxBytes)
    var buffer = ByteBuffer(string: text)
    return try parser.parse(&buffer)
}

private func error(_ text: String, _ kind: HeadParser.Kind = .request) -> HTTPWireError? {
    do { _ = try parse(text, kind); return nil } catch { return error }
}

/// Walks `body` through a reader fed `pieces` bytes at a time; returns (data bytes, framing bytes, done, bytes left over).
private func walk(_ framing: BodyFraming, _ body: String, piece: Int) throws(HTTPWireError) -> (data: String, framing: Int, done: Bool, left: Int) {
    var reader = BodyReader(framing)
    var pending = ByteBuffer()
    var data = "", framingBytes = 0
    var input = ByteBuffer(string: body)
    while input.readableBytes > 0, !reader.isDone {
        var next = input.readSlice(length: min(piece, input.readableBytes))!
        pending.writeBuffer(&next)
        loop: while true {
            switch try reader.next(in: pending, at: 0) {
            case .data(let n): data += pending.readString(length: n)!
            case .framing(let n): framingBytes += n; pending.moveReaderIndex(forwardBy: n)
            case .needMore, .done: break loop
            }
        }
    }
    return (data, framingBytes, reader.isDone, pending.readableBytes + input.readableBytes)
}

@Suite("Edge: HTTP/1.1 wire codec (heads, framing, chunked bodies)")
struct WireTests {
    @Test("a request head: method, target, version, fields with their whitespace trimmed; leading empty lines skipped; what follows stays")
    func requestHead() throws {
        var parser = HeadParser(.request)
        var buffer = ByteBuffer(string: "\r\nGET /a?b=c HTTP/1.1\r\nHost: app.test\r\nX-Empty:\r\nX-Pad: \t v w \t\r\n\r\nNEXT")
        let head = try #require(try parser.parse(&buffer))
        #expect(head.string(head.first) == "GET" && head.string(head.second) == "/a?b=c" && head.minorVersion == 1)
        #expect(head.value("host") == "app.test" && head.value("x-empty") == "" && head.value("x-pad") == "v w")
        #expect(head.fields.count == 3 && head.isKeepAlive)
        #expect(buffer.readString(length: buffer.readableBytes) == "NEXT")
        let old = try #require(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
        #expect(old.minorVersion == 0 && old.isKeepAlive)
        #expect(try parse("GET / HTTP/1.0\r\n\r\n")?.isKeepAlive == false)
        #expect(try parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n")?.isKeepAlive == false)
        let utf8 = try #require(try parse("GET /caf\u{E9} HTTP/1.1\r\nX-Name: J\u{F6}rg\r\n\r\n"))
        #expect(utf8.string(utf8.second) == "/caf\u{E9}" && utf8.value("x-name") == "J\u{F6}rg", "raw UTF-8 in the target and in values")
    }

    @Test("a head given a byte at a time is found once complete (the search resumes), nothing taken before")
    func trickled() throws {
        let text = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        var parser = HeadParser(.request)
        var buffer = ByteBuffer()
        for (i, byte) in text.utf8.enumerated() {
            buffer.writeInteger(byte)
            let head = try parser.parse(&buffer)
            #expect((head != nil) == (i == text.utf8.count - 1))
            if head == nil { #expect(buffer.readableBytes == i + 1) }
        }
    }

    @Test("refused: bare CR or LF, folded lines, space before the colon, bad method/target/version, control characters, heads over the limit")
    func refusedHeads() throws {
        for bad in ["GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "G@T / HTTP/1.1\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n", "GET / HTTP/2.0\r\n\r\n",
                    "GET / HTTP/1.1 \r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nX: a\u{1}b\r\n\r\n", "GET / HTTP/1.1\r\n: v\r\n\r\n",
                    "GET /\u{7F} HTTP/1.1\r\n\r\n",
                    // A CR inside a line, wherever it is (lines are found by their LF; the line's own checks refuse the CR).
                    "GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n", "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", "GET / HTTP/1.1\r\n\r\r\n\r\n",
                    "GE\rT / HTTP/1.1\r\n\r\n", "GET /a\r HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\r\n\r\n", "\nGET / HTTP/1.1\r\n\r\n"] {
            #expect(error(bad) != nil && error(bad) != .headTooLarge(limit: 65536), "\(bad.debugDescription)")
        }
        #expect(throws: HTTPWireError.headTooLarge(limit: 100)) { try parse("GET / HTTP/1.1\r\nX: " + String(repeating: "x", count: 200), maxBytes: 100) }
        #expect(throws: HTTPWireError.headTooLarge(limit: 100)) { try parse("GET / HTTP/1.1\r\nX: " + String(repeating: "x", count: 200) + "\r\n\r\n", maxBytes: 100) }
        let many = "GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 300) + "\r\n"
        #expect(throws: HTTPWireError.headTooLarge(limit: 256)) { try parse(many) }
        #expect(HTTPWireError.headTooLarge(limit: 1).status == 431 && HTTPWireError.ambiguousFraming.status == 400)
    }

    @Test("field-name bytes are exactly RFC 9110's tchar, over all 256 byte values")
    func tokenBytes() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for byte in 0...255 { #expect(HeadParser.isTokenByte(UInt8(byte)) == tchar.contains(UInt8(byte)), "byte \(byte)") }
    }

    @Test("status lines: code, reason (empty or absent too); malformed ones refused")
    func statusLines() throws {
        let ok = try #require(try parse("HTTP/1.1 204 No Content\r\nA: b\r\n\r\n", .response))
        #expect(ok.statusCode == 204 && ok.string(ok.second) == "No Content")
        #expect(try parse("HTTP/1.1 200\r\n\r\n", .response)?.statusCode == 200)
        #expect(try parse("HTTP/1.0 200 \r\n\r\n", .response)?.string(ok.second.lowerBound..<ok.second.lowerBound) == "")
        for bad in ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTX/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 O\u{1}K\r\n\r\n", "HTTP/1.1 200 O\rK\r\n\r\n", "HTTP/1.1 200\r\r\n\r\n"] {
            #expect(error(bad, .response) != nil, "\(bad.debugDescription)")
        }
    }

    @Test("request framing: length, chunked, none; CL with TE, differing CLs, TE in HTTP/1.0, another coding refused (smuggling)")
    func requestFraming() throws {
        func framing(_ fields: String, version: String = "1.1") throws(HTTPWireError) -> BodyFraming {
            try parse("POST / HTTP/\(version)\r\n\(fields)\r\n")!.requestFraming()
        }
        #expect(try framing("Content-Length: 12\r\n") == .length(12))
        #expect(try framing("Content-Length: 5, 5\r\nContent-Length: 5\r\n") == .length(5))
        #expect(try framing("Content-Length: 0\r\n") == BodyFraming.none)
        #expect(try framing("Transfer-Encoding: Chunked\r\n") == .chunked)
        #expect(try framing("") == BodyFraming.none)
        #expect(throws: HTTPWireError.ambiguousFraming) { try framing("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n") }
        #expect(throws: HTTPWireError.ambiguousFraming) { try framing("Content-Length: 4\r\nContent-Length: 5\r\n") }
        #expect(throws: HTTPWireError.ambiguousFraming) { try framing("Transfer-Encoding: chunked\r\n", version: "1.0") }
        #expect(throws: HTTPWireError.unsupportedTransferCoding("gzip, chunked")) { try framing("Transfer-Encoding: gzip, chunked\r\n") }
        #expect(throws: HTTPWireError.unsupportedTransferCoding("chunked, chunked")) { try framing("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") }
        for bad in ["Content-Length: -1\r\n", "Content-Length: 1e3\r\n", "Content-Length: \r\n", "Content-Length: 99999999999999999999\r\n"] {
            #expect(throws: HTTPWireError.malformed("Content-Length")) { try framing(bad) }
        }
    }

    @Test("response framing: HEAD, 1xx, 204 and 304 have no body; chunked wins over a length; neither: until the close")
    func responseFraming() throws {
        func framing(_ status: String, _ fields: String, head: Bool = false) throws(HTTPWireError) -> BodyFraming {
            try parse("HTTP/1.1 \(status)\r\n\(fields)\r\n", .response)!.responseFraming(toHead: head)
        }
        #expect(try framing("200 OK", "Content-Length: 7\r\n") == .length(7))
        #expect(try framing("200 OK", "Content-Length: 7\r\n", head: true) == BodyFraming.none)
        #expect(try framing("204 No Content", "") == BodyFraming.none)
        #expect(try framing("304 Not Modified", "Content-Length: 7\r\n") == BodyFraming.none)
        #expect(try framing("100 Continue", "") == BodyFraming.none)
        #expect(try framing("200 OK", "Transfer-Encoding: chunked\r\nContent-Length: 7\r\n") == .chunked)
        #expect(try framing("200 OK", "Transfer-Encoding: gzip\r\n") == .untilClose)
        #expect(try framing("200 OK", "") == .untilClose)
    }

    @Test("chunked bodies: data and framing told apart whatever the pieces (1, 2, 7 bytes, all), extensions and trailers, the end found exactly")
    func chunked() throws {
        let body = "5;name=v\r\nhello\r\n1A\r\n" + String(repeating: "z", count: 26) + "\r\n0\r\nX-Trailer: t\r\n\r\nNEXT"
        for piece in [1, 2, 7, body.utf8.count] {
            let r = try walk(.chunked, body, piece: piece)
            #expect(r.data == "hello" + String(repeating: "z", count: 26) && r.done, "piece \(piece)")
            #expect(r.framing + r.data.utf8.count + r.left == body.utf8.count && r.left <= 4, "piece \(piece): \(r)")
        }
        #expect(try walk(.chunked, "0\r\n\r\n", piece: 1).done)
        #expect(try walk(.length(3), "abcdef", piece: 2) == ("abc", 0, true, 3) as (String, Int, Bool, Int))
        #expect(try walk(.untilClose, "abc", piece: 1).data == "abc")
        for bad in ["x\r\n", "\r\n", "5\rhello", "5\r\nhelloX\r\n", "5\r\nhello\r\n0\r\nA: b\nc\r\n\r\n", "1234567890123456\r\n",
                    "1;" + String(repeating: "e", count: 5000) + "\r\n", "0\r\n" + String(repeating: "T: v\r\n", count: 5000) + "\r\n"] {
            #expect(throws: HTTPWireError.self, "\(bad.prefix(40).debugDescription)") { try walk(.chunked, bad, piece: 3) }
        }
    }

    @Test("a head passed on: hop-by-hop fields and those Connection names dropped, X-Forwarded-* replaced, the rest byte for byte")
    func headWriter() throws {
        let head = try #require(try parse("POST /p HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nTE: trailers\r\n"
            + "Keep-Alive: 5\r\nX-Forwarded-For: 10.0.0.1\r\nUpgrade: websocket\r\nX-Keep:  spaced \r\nTransfer-Encoding: chunked\r\n\r\n"))
        var rules = HopByHop(head)
        rules.dropForwarded = true
        var out = ByteBuffer()
        HeadWriter.request(head, target: "/b", rules: rules, forwardedFor: "10.0.0.1, 127.0.0.1", proto: "https", host: "a", extra: nil, into: &out)
        #expect(out.readString(length: out.readableBytes) == "POST /b HTTP/1.1\r\nHost: a\r\nX-Keep:  spaced \r\nTransfer-Encoding: chunked\r\n"
            + "x-forwarded-for: 10.0.0.1, 127.0.0.1\r\nx-forwarded-proto: https\r\nx-forwarded-host: a\r\n\r\n")
        let response = try #require(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\nA: b\r\n\r\n", .response))
        var responseRules = HopByHop(response)
        responseRules.dropContentLength = true
        out.clear()
        HeadWriter.response(response, rules: responseRules, extra: "connection: close\r\n", into: &out)
        #expect(out.readString(length: out.readableBytes) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nA: b\r\nconnection: close\r\n\r\n")
    }
}
