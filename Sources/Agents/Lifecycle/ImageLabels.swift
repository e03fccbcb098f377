/// The `org.nethserver.*` labels of a module image, checked.
public struct ImageLabels: Sendable, Equatable {
    public var rootfull: Bool
    public var authorizations: [String]
    public var tcpPortsDemand: Int
    public var flags: [String]

    /// Reads them from an image's label map (all optional; bad values are refused).
    public init(_ labels: [String: String]) throws(LifecycleError) {
        switch labels["org.nethserver.rootfull"] ?? "0" {
        case "0", "false", "": rootfull = false
        case "1", "true": rootfull = true
        case let other: throw .invalid(parameter: "image", "label org.nethserver.rootfull must be 0 or 1, not '\(other)'")
        }
        authorizations = (labels["org.nethserver.authorizations"] ?? "").split(separator: " ").map(String.init)
        for a in authorizations where !a.contains(":") {
            throw .invalid(parameter: "image", "label org.nethserver.authorizations: '\(a)' is not AGENT:ROLE")
        }
        let ports = labels["org.nethserver.tcp-ports-demand"] ?? "0"
        guard let n = Int(ports), (0...1000).contains(n) else {
            throw .invalid(parameter: "image", "label org.nethserver.tcp-ports-demand must be a number 0-1000, not '\(ports)'")
        }
        tcpPortsDemand = n
        flags = (labels["org.nethserver.flags"] ?? "").split(separator: " ").map(String.init)
    }
}
