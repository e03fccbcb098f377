import Edge
import FuzzDriver
import NIOCore

/// libFuzzer entry for the edge's HTTP/1.1 wire codec: the input as a request
/// head and as a response head (whole, and fed in two pieces: the same answer
/// both ways), then what follows each head as a chunked, a length and an
/// until-close body fed in small pieces. Nothing may crash; every parsed
/// range lies inside the head; data plus framing never exceeds the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    for kind in [HeadParser.Kind.request, .response] {
        var whole = input
        var parser = HeadParser(kind, maxBytes: 2048, maxFields: 32)
        let result = Result { () throws(HTTPWireError) in try parser.parse(&whole) }
        // Fed in two pieces, the parser must agree with the whole parse.
        var split = HeadParser(kind, maxBytes: 2048, maxFields: 32)
        var pieces = input.getSlice(at: 0, length: size / 2)!
        let first = Result { () throws(HTTPWireError) in try split.parse(&pieces) }
        var rest = input.getSlice(at: size / 2, length: size - size / 2)!
        pieces.writeBuffer(&rest)
        let second: Result<MessageHead?, HTTPWireError>
        if case .success(nil) = first { second = Result { () throws(HTTPWireError) in try split.parse(&pieces) } } else { second = first }
        switch (result, second) {
        case (.success(let a), .success(let b)) where (a == nil) == (b == nil): break
        case (.failure, .failure): break
        case (.failure(.headTooLarge), _), (_, .failure(.headTooLarge)): break  // half the input may already be over the limit
        default: fatalError("whole and split parses differ: \(result) vs \(second)")
        }
        guard case .success(let parsed?) = result else { continue }
        let count = parsed.bytes.readableBytes
        for field in parsed.fields {
            precondition(field.lineStart < field.nameEnd && field.nameEnd < field.valueStart + 1 && field.valueStart <= field.valueEnd
                && Int(field.lineEnd) <= count, "field out of the head")
            _ = parsed.string(Int(field.valueStart)..<Int(field.valueEnd))
        }
        _ = parsed.isKeepAlive
        let framings: [BodyFraming] = [.chunked, .length(Int64(whole.readableBytes / 2)), .untilClose]
            + [kind == .request ? try? parsed.requestFraming() : try? parsed.responseFraming(toHead: false)].compactMap { $0 }
        for framing in framings { walk(framing, whole) }
    }
    return 0
}

/// Feeds `body` to a reader 3 bytes at a time; the steps must stay inside what was given.
private func walk(_ framing: BodyFraming, _ body: ByteBuffer) {
    var reader = BodyReader(framing)
    var pending = ByteBuffer()
    var input = body
    var taken = 0
    while input.readableBytes > 0, !reader.isDone {
        var next = input.readSlice(length: min(3, input.readableBytes))!
        pending.writeBuffer(&next)
        while true {
            guard let step = try? reader.next(in: pending, at: 0) else { return }
            switch step {
            case .data(let n), .framing(let n):
                precondition(n > 0 && n <= pending.readableBytes, "a step past the bytes given")
                pending.moveReaderIndex(forwardBy: n)
                taken += n
            case .needMore, .done: break
            }
            if case .needMore = step { break }
            if case .done = step { break }
        }
    }
    precondition(taken <= body.readableBytes)
}
runFuzzer(fuzz)
