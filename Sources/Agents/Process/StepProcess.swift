import CSpawn
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// How to start one step.
struct StepLaunch: Sendable {
    var path: String
    var environment: [String]
    /// Standard input (the task's data JSON, or an event's payload).
    var input: [UInt8]
    /// Collect stdout and stderr (tasks) instead of handing the agent's own 1 and 2 to the child (events).
    var capture: Bool
    /// Give the child a command pipe as fd 3 (tasks).
    var commandPipe: Bool
    /// argv after the path (steps have none; external tools do).
    var arguments: [String] = []
}

/// What a finished step left.
struct StepOutcome: Sendable {
    var status: ExitStatus
    var stdout: PipeCollector.Collected?
    var stderr: PipeCollector.Collected?
    /// True when the pipes were still held open by leftover processes after the step exited.
    var abandonedPipes = false
}

/// A step that could not be started (vanished, not executable, no resources).
struct SpawnFailure: Error, Sendable, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

/// Runs step processes: posix_spawn (no shell), own process group, pipes
/// read on the event loop, exit awaited through ``ChildWatcher``.
enum StepProcess {
    /// Most bytes kept of a step's stdout (and, separately, stderr).
    static let outputLimit = 64 << 20
    /// How long the pipes may stay open after the step exited (a daemon it
    /// left behind holding them) before we stop reading.
    static let pipeGrace: TimeAmount = .seconds(2)

    /// Spawns and waits for one step. `started` gets the pid (= process group id)
    /// as soon as it runs; `onCommand` each command-pipe line; `onStderr` each stderr chunk.
    static func run(_ launch: StepLaunch, group: any EventLoopGroup,
                    started: (pid_t) -> Void,
                    onCommand: @escaping @Sendable (String) -> Void,
                    onStderr: @escaping @Sendable (ByteBuffer) -> Void) async throws(SpawnFailure) -> StepOutcome {
        var opened: [Int32] = []
        func pipe() throws(SpawnFailure) -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard nscore_pipe(&fds) == 0 else {
                let why = FileSystem.errorText(errno)
                for fd in opened { close(fd) }
                throw SpawnFailure(reason: "pipe: \(why)")
            }
            opened += fds
            return (fds[0], fds[1])
        }
        let stdin = try pipe()
        let stdout = launch.capture ? try pipe() : (read: -1, write: 1)
        let stderr = launch.capture ? try pipe() : (read: -1, write: 2)
        let command = launch.commandPipe ? try pipe() : (read: -1, write: -1)

        // Small inputs fit the pipe: write them now and close (no channel needed).
        var writer: Int32 = stdin.write
        if launch.input.count <= Int(nscore_pipe_capacity(stdin.write)) {
            writeAll(stdin.write, launch.input)
            close(stdin.write)
            writer = -1
        }

        var pid: pid_t = 0
        var rc = spawn(launch, &pid, stdin.read, stdout.write, stderr.write, command.write)
        // "Text file busy": the file is being written (an update replacing the step), or another
        // process still holds a descriptor it inherited while the file was written. Try again shortly.
        for _ in 0..<10 where rc == ETXTBSY {
            try? await Task.sleep(for: .milliseconds(20))
            rc = spawn(launch, &pid, stdin.read, stdout.write, stderr.write, command.write)
        }
        for fd in [stdin.read, stdout.write, stderr.write, command.write] where fd > 2 { close(fd) }
        guard rc == 0 else {
            for fd in [writer, stdout.read, stderr.read, command.read] where fd >= 0 { close(fd) }
            throw SpawnFailure(reason: "fork/exec \(launch.path): \(FileSystem.errorText(rc))")
        }
        started(pid)

        let loop = group.next()
        let out = launch.capture ? PipeCollector(limit: outputLimit, eventLoop: loop, onChunk: nil) : nil
        let err = launch.capture ? PipeCollector(limit: outputLimit, eventLoop: loop, onChunk: onStderr) : nil
        let lines = launch.commandPipe ? LineSplitter(eventLoop: loop, onLine: onCommand) : nil
        // The three pipe channels are registered together (one hop to the loop, not three in a row).
        var pending: [(handler: any ChannelHandler & Sendable, channel: EventLoopFuture<any Channel>)] = []
        for (fd, handler) in [(stdout.read, out as (any ChannelHandler & Sendable)?), (stderr.read, err), (command.read, lines)] {
            guard fd >= 0, let handler else { continue }
            pending.append((handler, reader(fd, handler, loop)))
        }
        var opening: [any Channel] = []
        for p in pending {
            if let channel = try? await p.channel.get() {
                opening.append(channel)
            } else {
                // No channel (out of descriptors?): the step runs, this pipe is not read. NIO owns
                // the descriptor from the call on, so it is not closed here (it may be reused already).
                let handler = p.handler
                loop.execute {
                    (handler as? PipeCollector)?.finish()
                    (handler as? LineSplitter)?.finish()
                }
            }
        }
        let channels = opening
        if writer >= 0 { await feed(writer, launch.input, loop) }

        let status = await ChildWatcher.shared.wait(pid)
        var outcome = StepOutcome(status: status)
        // Give the pipes a moment to drain; a leftover process holding them is not waited for.
        let deadline = loop.scheduleTask(in: pipeGrace) {
            for c in channels { c.close(promise: nil) }
        }
        outcome.stdout = try? await out?.done.futureResult.get()
        outcome.stderr = try? await err?.done.futureResult.get()
        _ = try? await lines?.done.futureResult.get()
        deadline.cancel()
        outcome.abandonedPipes = (try? await deadline.futureResult.get()) != nil
        return outcome
    }

    private static func spawn(_ launch: StepLaunch, _ pid: inout pid_t, _ i: Int32, _ o: Int32, _ e: Int32, _ c: Int32) -> Int32 {
        let argv = ([launch.path] + launch.arguments).map { strdup($0) } + [nil]
        let envp = launch.environment.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        return nscore_spawn(&pid, launch.path, argv, envp, i, o, e, c, 1)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// A pipe channel reading `fd` into `handler`.
    private static func reader(_ fd: Int32, _ handler: any ChannelHandler & Sendable, _ loop: any EventLoop) -> EventLoopFuture<any Channel> {
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .takingOwnershipOfDescriptor(input: fd)
    }

    /// Writes a large input through a pipe channel (the child reads it at its pace), then closes it.
    private static func feed(_ fd: Int32, _ bytes: [UInt8], _ loop: any EventLoop) async {
        guard let channel = try? await NIOPipeBootstrap(group: loop).takingOwnershipOfDescriptor(output: fd).get() else {
            close(fd)
            return
        }
        let buffer = channel.allocator.buffer(bytes: bytes)
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }
}
