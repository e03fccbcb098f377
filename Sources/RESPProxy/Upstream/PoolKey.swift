import Net

/// Which upstream a link serves: the replica or the leader, as which user,
/// in which protocol and database. Links are shared only within one key.
struct PoolKey: Hashable, CustomStringConvertible {
    enum Role: String, Hashable { case replica, leader }
    let role: Role
    let endpoint: Endpoint
    /// nil: the `default` user (no AUTH).
    let user: String?
    let proto: Int
    let db: Int

    var description: String { "\(role.rawValue) \(endpoint) as \(user ?? "default") resp\(proto) db\(db)" }
}
