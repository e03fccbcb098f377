import JSON

/// The document `nscore ldapproxy status` prints: the default port, each
/// domain with its port, open connections and providers with their health.
enum ProxyStatus {
    static func document(table: ListenerTable, health: ProviderHealth, configuration: LDAPProxyConfiguration, loaded: Bool) async -> String {
        let served = await table.served
        let ports = await table.portMap.ports
        let defaultName = await table.defaultName
        let defaultOpen = await table.defaultListener?.registry.activeCount ?? 0
        var domains: [JSONValue] = []
        for name in served.keys.sorted() {
            guard let entry = served[name] else { continue }
            let providers: [JSONValue] = entry.domain.providers.map { p in
                let state = health.state(p)
                var members: [(name: String, value: JSONValue)] = [
                    ("address", .string("\(p.endpoint)")),
                    ("tls", .string(p.tls.rawValue)),
                    ("tls_verify", .bool(p.tlsVerify)),
                    ("health", .string(state.up.map { $0 ? "up" : "down" } ?? "unknown")),
                ]
                if let node = p.node { members.insert(("node", .number(Double(node))), at: 1) }
                if let error = state.lastError { members.append(("last_error", .string(error))) }
                return .object(members)
            }
            domains.append(.object([
                ("name", .string(name)),
                ("port", ports[name].map { .number(Double($0)) } ?? .null),
                ("listening", .bool(entry.listener != nil)),
                ("default", .bool(name == defaultName)),
                ("source", .string(entry.domain.isInternal ? "internal" : "external")),
                ("schema", .string(entry.domain.schema)),
                ("base_dn", .string(entry.domain.baseDN)),
                ("connections", .number(Double(entry.listener?.registry.activeCount ?? 0))),
                ("providers", .array(providers)),
            ]))
        }
        let source: String
        switch configuration.source {
        case .redis(_, let id): source = "redis (module/\(id))"
        case .file(let path): source = "file \(path)"
        }
        return JSONValue.object([
            ("source", .string(source)),
            ("loaded", .bool(loaded)),
            ("node_id", configuration.nodeID.map { .number(Double($0)) } ?? .null),
            ("default", .object([
                ("address", .string("\(configuration.listenHost):\(configuration.defaultPort)")),
                ("domain", defaultName.map { .string($0) } ?? .null),
                ("connections", .number(Double(defaultOpen))),
            ])),
            ("domains", .array(domains)),
        ]).serialized + "\n"
    }
}
