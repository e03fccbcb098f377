import Logging
import Metrics
import NIOCore

/// The metrics of one route, made once per route table (not per request).
final class RouteMetrics: Sendable {
    /// By status class: 0xx (none) … 5xx.
    private let requests: [Counter]
    private let latency: Timer
    private let bytes: Counter

    init(route: String) {
        requests = (0...5).map { Counter(label: "nscore_edge_requests_total", dimensions: [("route", route), ("status", "\($0)xx")]) }
        latency = Timer(label: "nscore_edge_request_seconds", dimensions: [("route", route)])
        bytes = Counter(label: "nscore_edge_response_bytes_total", dimensions: [("route", route)])
    }

    func record(status: Int, micros: Int64, bytes count: Int) {
        requests[min(max(status / 100, 0), 5)].increment()
        latency.recordMicroseconds(micros)
        bytes.increment(by: count)
    }

    /// Responses the edge makes itself (no route).
    static let edgeMade = RouteMetrics(route: "-")
}

/// One request's line in the access log.
struct AccessRecord {
    var started = NIODeadline.now()
    var client = ""
    var host = ""
    var method = ""
    var path = ""
    /// The route's instance, or `-` when the edge answered itself.
    var route = "-"
    var metrics = RouteMetrics.edgeMade
    var status = 0
    var bytes = 0

    /// Writes the line (`client host method path status bytes duration route`) and counts the request.
    /// Mutating although it changes nothing: called on the handler's stored record in place, not on a
    /// copy of its strings (six retains and releases a request, counted with uprobes).
    /// - Parameter clientEnded: the client had ended its side (a FIN) before the request was
    ///   answered; it may have gone (curl giving up closes so) or only half-closed, and was answered all the same.
    mutating func finish(_ logger: Logger, note: String?, clientEnded: Bool, now: NIODeadline) {
        let micros = (now - started).nanoseconds / 1000
        let ended = clientEnded ? "client had ended its side" : nil
        let notes = note.map { n in ended.map { "\(n); \($0)" } ?? n } ?? ended
        logger.info("\(client) \(host) \(method) \(path) \(status) \(bytes) \(micros / 1000).\(micros % 1000 / 100)ms \(route)\(notes.map { " (\($0))" } ?? "")")
        metrics.record(status: status, micros: micros, bytes: bytes)
    }
}
