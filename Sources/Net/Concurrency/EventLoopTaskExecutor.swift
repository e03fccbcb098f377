public import NIOCore

/// Runs Swift tasks on a NIO event loop. Under
/// `withTaskExecutorPreference(EventLoopTaskExecutor(channel.eventLoop))`
/// a loop that awaits replies from that channel never leaves the loop's
/// thread: writes happen in place and completions resume the task without a
/// thread hop — per request that saves two wake-ups (cooperative pool ↔
/// event loop), which dominate the cost of one-at-a-time round trips.
/// Keep such code free of blocking calls: it runs on the I/O thread.
@available(macOS 15.0, *)
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop jobs run on.
    public let eventLoop: any EventLoop

    /// Creates an executor for `eventLoop`.
    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        eventLoop.execute {
            unowned.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
