import NIOCore
import NIOPosix

/// A loopback test client on NIOAsyncChannel (half-closure enabled both ways).
public enum TestClient {
    public typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    public static func connect(port: Int, group: any EventLoopGroup) async throws -> Connection {
        try await ClientBootstrap(group: group)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Connection(wrappingChannelSynchronously: channel,
                                   configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
    }

    /// Sends `pattern` (then half-closes) while reading everything the peer
    /// sends until it closes; returns the checksum of what was received.
    public static func exchange(port: Int, group: any EventLoopGroup, send pattern: Pattern,
                                chunk: Int = 256 << 10) async throws -> Checksum {
        let connection = try await connect(port: port, group: group)
        return try await connection.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Checksum?.self) { group in
                group.addTask {
                    var offset = 0
                    while offset < pattern.length {
                        let end = min(pattern.length, offset + chunk)
                        try await outbound.write(pattern.chunk(offset..<end))
                        offset = end
                    }
                    outbound.finish()
                    return nil
                }
                group.addTask {
                    var received = Checksum()
                    for try await buffer in inbound { received.update(buffer) }
                    return received
                }
                var result = Checksum()
                for try await r in group { if let r { result = r } }
                return result
            }
        }
    }

    /// Reads until the peer closes; returns the checksum.
    public static func drain(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async throws -> Checksum {
        var received = Checksum()
        for try await buffer in inbound { received.update(buffer) }
        return received
    }
}
