import NIOCore

/// The edge's own small responses (404, 403, 502, 504, redirects), HTML with a text title.
enum ErrorPage {
    static func body(_ status: Int, _ detail: String) -> ByteBuffer {
        let title = "\(status) \(reason(status))"
        return ByteBuffer(string: "<!DOCTYPE html><html><head><title>\(title)</title></head><body><h1>\(title)</h1><p>\(detail)</p></body></html>\n")
    }

    /// The reason phrase of the statuses the edge answers with.
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 431: "Request Header Fields Too Large"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 504: "Gateway Timeout"
        default: "Error"
        }
    }
}
