import FoundationEssentials
import JSON
import Logging
import RESP

/// Where the domain → port map is kept so that ports survive restarts:
/// `module/<proxy id>/data/domain_port` in Redis (with the
/// `user-domain-changed` event on change), and/or a JSON state file.
struct PortMapStore: Sendable {
    let redis: RedisRoutingClient?
    let proxyID: String?
    let nodeID: Int?
    let stateFile: String?
    let logger: Logger

    var redisKey: String? { proxyID.map { "module/\($0)/data/domain_port" } }

    /// The map known from the last run: Redis first, else the state file.
    func load() async -> [String: Int] {
        if let redis, let key = redisKey {
            do {
                let stored = try await redis.readOnly.hgetall(key)
                if !stored.isEmpty { return stored.compactMapValues { Int($0) } }
            } catch {
                logger.warning("cannot read the published port map \(key) yet: \(error); using \(stateFile ?? "fresh ports")")
            }
        }
        guard let stateFile, let data = try? Data(contentsOf: URL(filePath: stateFile)) else { return [:] }
        guard case .object(let members)? = try? JSONValue.parse(String(decoding: data, as: UTF8.self)) else {
            logger.warning("ignoring \(stateFile): not a JSON object of domain → port")
            return [:]
        }
        var map: [String: Int] = [:]
        for (name, value) in members where value.isInteger {
            if case .number(let n) = value { map[name] = Int(n) }
        }
        return map
    }

    /// Keeps `ports` in the state file (at once) and publishes it to Redis
    /// with the event naming `changed`. Throws when Redis did not take it
    /// (the caller retries later); the state file never throws.
    func save(_ ports: [String: Int], changed: [String]) async throws(RedisClientError) {
        if let stateFile { writeStateFile(stateFile, ports) }
        guard let redis, let key = redisKey, let proxyID else { return }
        var commands: [[String]] = [["del", key]]
        if !ports.isEmpty { commands.append(["hset", key] + ports.sorted { $0.key < $1.key }.flatMap { [$0.key, String($0.value)] }) }
        if !changed.isEmpty { commands.append(["publish", "module/\(proxyID)/event/user-domain-changed", eventPayload(changed)]) }
        _ = try await redis.transaction(commands)
    }

    /// `{"node_id": N, "domain": D, "domains": [changed domains]}` (REDIS-LAYOUT.md).
    func eventPayload(_ changed: [String]) -> String {
        var members: [(name: String, value: JSONValue)] = []
        if let nodeID { members.append(("node_id", .number(Double(nodeID)))) }
        members.append(("domain", .string(changed.first ?? "")))
        members.append(("domains", .array(changed.map { .string($0) })))
        return JSONValue.object(members).serialized
    }

    private func writeStateFile(_ path: String, _ ports: [String: Int]) {
        let text = JSONValue.object(ports.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) }).serialized + "\n"
        do {
            try Data(text.utf8).write(to: URL(filePath: path), options: .atomic)
        } catch {
            logger.error("cannot write the port map to \(path): \(error) (ports may change at the next restart)")
        }
    }
}
