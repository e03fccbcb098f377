import NIOCore

/// What a finished task leaves in Redis (AGENT-PROTOCOL.md, "Redis writes", step 4).
struct TaskResult: Sendable {
    var taskID: String
    var action: String
    var status: TaskStatus
    var progress: Int
    var output: ByteBuffer
    var error: ByteBuffer
    var exitCode: Int
    /// The masked context, when its first SET did not reach Redis (written with the result then).
    var unwrittenContext: String?
    /// The step the log line names.
    var lastStep: String
    /// The masked context, to write again should Redis have lost it (a restart without persistence).
    var context: String? = nil
    /// Progress writes still queued at the end: sent in the same write, just before the transaction.
    var pendingWrites: [[String]] = []

    var progressMessage: String { "{\"status\":\"\(status.rawValue)\",\"progress\":\(progress)}" }
}
