/// The status of a task or event handler as published.
public enum TaskStatus: String, Sendable {
    case pending, running, completed, aborted
    case validationFailed = "validation-failed"
}

/// The steps of one action with their weights, and the published
/// progress: ⌊(Σ 100·w of finished steps + current step's progress · its w)
/// · 100 / Σ 100·w of all steps⌋ (AGENT-PROTOCOL.md).
public struct ActionProgress: Sendable {
    /// Step names in order, and their weights (1 unless changed; 0 for the validation files).
    public private(set) var steps: [String]
    public private(set) var weights: [Int]
    public var status: TaskStatus = .pending
    /// The last computed progress, 0–100.
    public private(set) var progress = 0

    /// Steps named `steps`, weight 1, validation files 0.
    public init(steps: [String]) {
        self.steps = steps
        weights = steps.map { ActionCatalog.isValidationStep($0) ? 0 : 1 }
    }

    /// Sets the weight of the step named `name`; false when there is no such step.
    public mutating func setWeight(_ name: String, _ weight: Int) -> Bool {
        guard let i = steps.firstIndex(of: name), weight >= 0 else { return false }
        weights[i] = weight
        return true
    }

    /// Recomputes the progress with step `index` at `stepProgress` percent
    /// (steps before it counted finished). Unchanged when every weight is 0.
    public mutating func set(step index: Int, progress stepProgress: Int) {
        let target = weights.reduce(0) { $0 + 100 * $1 }
        guard target > 0, index < steps.count else { return }
        let done = weights[..<index].reduce(0) { $0 + 100 * $1 }
        progress = (done + stepProgress * weights[index]) * 100 / target
    }

    /// The progress message: exactly `{"status":"…","progress":N}`.
    public var message: String { "{\"status\":\"\(status.rawValue)\",\"progress\":\(progress)}" }
}

import Synchronization

/// An ``ActionProgress`` shared by the step loop and the command-pipe callbacks.
final class SharedProgress: Sendable {
    private let state: Mutex<ActionProgress>

    init(_ progress: ActionProgress) {
        state = Mutex(progress)
    }

    /// Runs `body` on the progress under the lock.
    func withLock<T: Sendable>(_ body: (inout ActionProgress) -> T) -> T {
        state.withLock { body(&$0) }
    }
}
