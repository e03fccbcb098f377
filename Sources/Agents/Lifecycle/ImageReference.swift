/// `REGISTRY/PATH/NAME:TAG` (or `@sha256:…`): where a module image lives.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    public let registry: String
    public let repository: String
    /// `:TAG` or `@sha256:…` (including its separator).
    public let reference: String

    /// The module's name: the repository's last component (`…/mail:1.0` → `mail`).
    public var name: String { String(repository.split(separator: "/").last ?? Substring(repository)) }

    public var description: String { "\(registry)/\(repository)\(reference)" }

    /// A registry on this host (plain HTTP allowed, as for a test or local mirror).
    public var isLoopback: Bool {
        let host = registry.split(separator: ":").first.map(String.init) ?? registry
        return host == "127.0.0.1" || host == "localhost" || host == "[::1]"
    }

    /// Parses an image URL; a name must be lower-case letters, digits and `-`/`_`/`.`.
    public init(parsing text: String) throws(LifecycleError) {
        var rest = Substring(text)
        if rest.hasPrefix("docker://") { rest = rest.dropFirst("docker://".count) }
        guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex else {
            throw .invalid(parameter: "image", "expected REGISTRY/NAME:TAG, got '\(text)'")
        }
        registry = String(rest[..<slash])
        var path = rest[rest.index(after: slash)...]
        if let at = path.firstIndex(of: "@") {
            reference = String(path[at...])
            path = path[..<at]
        } else if let colon = path.lastIndex(of: ":") {
            reference = String(path[colon...])
            path = path[..<colon]
        } else {
            reference = ":latest"
        }
        repository = String(path)
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_./")
        guard !repository.isEmpty, repository.allSatisfy({ allowed.contains($0) }), !name.isEmpty,
              name.first!.isLetter, reference.count > 1 else {
            throw .invalid(parameter: "image", "'\(text)' is not a valid image name (lower-case REGISTRY/NAME:TAG)")
        }
    }
}
