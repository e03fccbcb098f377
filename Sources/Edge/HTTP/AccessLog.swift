import Logging
import Metrics
import NIOCore

/// One request's line in the access log and its metrics per route.
struct AccessRecord {
    var started = NIODeadline.now()
    var client = ""
    var host = ""
    var method = ""
    var path = ""
    /// The route's instance, or `-` when the edge answered itself.
    var route = "-"
    var status = 0
    var bytes = 0

    /// Writes the line (`client host method path status bytes duration route`) and counts the request.
    func finish(_ logger: Logger, note: String? = nil) {
        let micros = (NIODeadline.now() - started).nanoseconds / 1000
        let ms = "\(micros / 1000).\(String(micros % 1000 / 100))"
        logger.info("\(client) \(host) \(method) \(path) \(status) \(bytes) \(ms)ms \(route)\(note.map { " (\($0))" } ?? "")")
        Counter(label: "nscore_edge_requests_total", dimensions: [("route", route), ("status", "\(status / 100)xx")]).increment()
        Timer(label: "nscore_edge_request_seconds", dimensions: [("route", route)]).recordMicroseconds(micros)
        Counter(label: "nscore_edge_response_bytes_total", dimensions: [("route", route)]).increment(by: bytes)
    }
}
