import ArgumentParser
import FoundationEssentials
import Net
import RESP

/// The environment of a module daemon: the process's, then `--env-file` (wins), empty values dropped.
func daemonEnvironment(envFile: String?) throws -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    if let envFile {
        do { env.merge(try EnvironmentFile.load(path: envFile)) { $1 } } catch { throw ValidationError("\(error)") }
    }
    return env.filter { !$0.value.isEmpty }
}

/// A module daemon's id (`--module-id`, else MODULE_ID, else AGENT_ID without `module/`) and its
/// Redis settings as that module's ACL user (REDIS_USER defaults to `module/<id>`), with short
/// command timeouts so that a load that cannot reach Redis fails fast and is retried.
func moduleRedis(explicit: String?, env: [String: String], clientName: String, missing: String) throws -> (id: String, settings: RedisSettings) {
    let agent = env["AGENT_ID"].map { $0.hasPrefix("module/") ? String($0.dropFirst(7)) : $0 }
    guard let id = explicit ?? env["MODULE_ID"] ?? agent, !id.isEmpty, !id.contains("/") else {
        throw ValidationError(missing)
    }
    var withUser = env
    if withUser["REDIS_USER"] == nil { withUser["REDIS_USER"] = "module/\(id)" }
    do {
        return (id, try RedisSettings(environment: withUser, clientName: clientName, base: RedisConnectionConfiguration(commandTimeout: .seconds(3))))
    } catch {
        throw ValidationError("\(error)")
    }
}
