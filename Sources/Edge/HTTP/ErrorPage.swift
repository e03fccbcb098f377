import NIOCore
import NIOHTTP1

/// The edge's own small responses (404, 403, 502, 504, redirects), HTML with a text title.
enum ErrorPage {
    static func head(_ status: HTTPResponseStatus, version: HTTPVersion, bodyLength: Int, keepAlive: Bool,
                     contentType: String = "text/html; charset=utf-8", extra: [(String, String)] = []) -> HTTPResponseHead {
        var headers = HTTPHeaders([("content-type", contentType), ("content-length", String(bodyLength)),
                                   ("cache-control", "no-store")] + extra)
        if !keepAlive { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }

    static func body(_ status: HTTPResponseStatus, _ detail: String) -> ByteBuffer {
        let title = "\(status.code) \(status.reasonPhrase)"
        return ByteBuffer(string: "<!DOCTYPE html><html><head><title>\(title)</title></head><body><h1>\(title)</h1><p>\(detail)</p></body></html>\n")
    }
}
