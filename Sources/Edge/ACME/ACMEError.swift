/// Why obtaining a certificate from the ACME server failed; each says what to check.
public enum ACMEError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer from the server (connection refused, TLS failure, timeout).
    case unreachable(url: String, reason: String)
    /// The server answered with an RFC 7807 problem document.
    case problem(status: Int, type: String, detail: String)
    /// The server's answer was not what RFC 8555 describes.
    case badResponse(url: String, reason: String)
    /// The CA could not validate the HTTP-01 challenge for `name`.
    case challengeFailed(name: String, detail: String)
    /// An authorization or order stayed pending or processing past the poll limit.
    case timedOut(what: String)
    /// The account or certificate key could not be made, read or used.
    case key(String)
    /// The edge's ACME settings cannot be used (e.g. an unreadable --acme-ca-file).
    case configuration(String)

    public var description: String {
        switch self {
        case .unreachable(let url, let reason):
            "cannot reach the ACME server at \(url): \(reason) (check the URL given to set-acme-server and the network; retrying with backoff)"
        case .problem(let status, let type, let detail):
            "the ACME server refused the request (HTTP \(status), \(type)): \(detail)"
        case .badResponse(let url, let reason):
            "unexpected answer from the ACME server at \(url): \(reason)"
        case .challengeFailed(let name, let detail):
            "the CA could not validate \(name) over HTTP-01: \(detail) (the name must resolve to this node and port 80 must reach the edge)"
        case .timedOut(let what):
            "\(what) did not complete in time at the ACME server; retrying with backoff"
        case .key(let why): "ACME key: \(why)"
        case .configuration(let why): "ACME settings: \(why)"
        }
    }

    /// The problem type without the `urn:ietf:params:acme:error:` prefix ("badNonce", …); nil for other errors.
    var problemType: String? {
        guard case .problem(_, let type, _) = self else { return nil }
        return type.hasPrefix("urn:ietf:params:acme:error:") ? String(type.dropFirst("urn:ietf:params:acme:error:".count)) : type
    }
}
