import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One task or event handler in flight: the process group of its running
/// step (for `cancel-task` and for SIGTERM), and who writes its result.
final class RunningWork: Sendable {
    let id: String
    let action: String
    /// The task's masked context (nil for event handlers).
    let context: String?
    private let state = Mutex<(group: pid_t?, cancelled: Bool, finalized: Bool, progress: Int, publisher: TaskPublisher?)>(
        (nil, false, false, 0, nil))

    init(id: String, action: String, context: String? = nil) {
        self.id = id
        self.action = action
        self.context = context
    }

    /// A step started: remember its group; a cancelled task's steps get SIGTERM at once.
    func stepStarted(_ group: pid_t) {
        let cancelled = state.withLock { s -> Bool in
            s.group = group
            return s.cancelled
        }
        if cancelled { kill(-group, SIGTERM) }
    }

    func stepEnded() {
        state.withLock { $0.group = nil }
    }

    /// SIGTERM to the running step's group, and to every later step as it starts.
    func cancel() {
        let group = state.withLock { s -> pid_t? in
            s.cancelled = true
            return s.group
        }
        if let group { kill(-group, SIGTERM) }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// The last published progress (for a result written on its behalf).
    var progress: Int {
        get { state.withLock { $0.progress } }
        set { state.withLock { $0.progress = newValue } }
    }

    /// Registers the publisher of the task's non-final writes (progress, heartbeats), so that a
    /// result written on the task's behalf (SIGTERM) can stop them first. Registered after that
    /// result was claimed (a SIGTERM before the runner began), it is stopped at once.
    func publishes(through publisher: TaskPublisher) {
        let claimed = state.withLock { s -> Bool in
            s.publisher = publisher
            return s.finalized
        }
        if claimed { publisher.stop() }
    }

    /// Stops the task's progress writes and waits, up to `limit`, for the batch in flight: a result
    /// written on the task's behalf must be the last message on its progress channel (a heartbeat's
    /// "running" landed after the SIGTERM path's "aborted" on a loaded machine).
    func stopPublishing(within limit: Duration) async {
        guard let publisher = state.withLock({ $0.publisher }) else { return }
        let done = Wakeup()
        Task { _ = await publisher.finish(); done.fire() }
        await done.sleep(for: limit)
    }

    /// True for the first caller only: that one writes the result.
    func claimResult() -> Bool {
        state.withLock { s -> Bool in
            if s.finalized { return false }
            s.finalized = true
            return true
        }
    }
}

/// The work in flight, by id: running tasks (what `cancel-task` finds and
/// `MAX_CONCURRENCY` counts) or running event handlers.
final class RunningSet: Sendable {
    private let items = Mutex<[String: RunningWork]>([:])
    private let idle = Mutex<[CheckedContinuation<Void, Never>]>([])

    var count: Int { items.withLock { $0.count } }
    var all: [RunningWork] { items.withLock { Array($0.values) } }

    func insert(_ work: RunningWork) {
        items.withLock { $0[work.id] = work }
    }

    /// Removes the work; returns how many remain.
    @discardableResult
    func remove(_ work: RunningWork) -> Int {
        let left = items.withLock { s -> Int in
            if s[work.id] === work { s.removeValue(forKey: work.id) }
            return s.count
        }
        if left == 0 {
            for waiter in idle.withLock({ w -> [CheckedContinuation<Void, Never>] in defer { w.removeAll() }; return w }) {
                waiter.resume()
            }
        }
        return left
    }

    /// Returns once nothing is running.
    func waitUntilEmpty() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            // Registered under the items lock, so a removal in between cannot be missed.
            let empty = items.withLock { s -> Bool in
                if s.isEmpty { return true }
                idle.withLock { $0.append(c) }
                return false
            }
            if empty { c.resume() }
        }
    }

    func find(_ id: String) -> RunningWork? {
        items.withLock { $0[id] }
    }
}
