import Edge
import FuzzDriver

/// libFuzzer entry for the edge's text parsers: the first line and the rest of
/// the input as an IP range and an address, as route fields (url, host, path,
/// ip_allowlist) and a request host/path to match, and as PEM for a certificate
/// and key. Everything must throw or answer, never crash; a parsed route with a
/// host must match that host.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let first = parts[0], rest = parts.count > 1 ? parts[1] : ""
    if let range = IPRange(first) { _ = range.contains(rest); _ = range.contains(first) }
    for fields in [["url": first, "host": rest], ["url": "http://127.0.0.1:1", "host": first, "path": rest, "ip_allowlist": rest, "strip_prefix": "true"],
                   ["url": "https://b", "path": first, "priority": rest]] {
        guard let route = try? Route(fields: fields) else { continue }
        _ = route.backendPath(for: rest)
        _ = route.matches(host: rest, path: first)
        let table = RouteTable([route])
        _ = table.match(host: rest, path: first)
        if let host = route.host, route.path == nil, table.match(host: host, path: "/") == nil {
            fatalError("a host-only route does not match its own host \(host.debugDescription)")
        }
    }
    _ = EdgeCertificate.summary(chainPEM: text)
    _ = try? EdgeCertificate(chainPEM: text, keyPEM: rest, custom: true)
    _ = ACMEChallenges().answer(path: text)
    return 0
}
runFuzzer(fuzz)
