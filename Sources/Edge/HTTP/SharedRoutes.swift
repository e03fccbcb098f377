import Synchronization

/// The route table every connection of the edge reads, swapped whole on reload.
///
/// A request must not take a lock shared by all event loops: two loops
/// writing the same lock word on every request bounce its cache line between
/// cores. Readers instead compare a generation number (an atomic load of a
/// line that only a reload writes) with the one of the table they hold
/// (``RouteSnapshot``), and take the lock only after a reload.
public final class SharedRoutes: Sendable {
    private let table: Mutex<RouteTable>
    private let generationCounter = Atomic<Int>(0)

    public init(_ table: RouteTable = RouteTable([])) {
        self.table = Mutex(table)
    }

    /// The routes now (takes the lock: for reloads, ACME and tests, not per request).
    public var current: RouteTable { table.withLock { $0 } }

    /// Serves `next` from now on; connections pick it up at their next request.
    public func replace(with next: RouteTable) {
        table.withLock { current in
            current = next
            // Inside the lock: a reader that sees the new number and then locks gets this table or a later one.
            generationCounter.add(1, ordering: .releasing)
        }
    }

    /// Bumped by every ``replace(with:)``.
    var generation: Int { generationCounter.load(ordering: .acquiring) }
}

/// One connection's copy of the shared table, refreshed when a reload happened since it was taken.
struct RouteSnapshot {
    private var table = RouteTable([])
    /// Never a shared generation (they start at 0): the first request takes the table.
    private var generation = -1

    /// The current table: the one held unless the shared one was replaced since.
    mutating func table(from shared: SharedRoutes) -> RouteTable {
        let now = shared.generation
        if now != generation {
            table = shared.current
            generation = now
        }
        return table
    }
}
