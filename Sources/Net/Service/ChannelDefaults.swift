public import NIOCore

/// Socket settings shared by every listener and upstream connection.
public enum ChannelDefaults {
    /// Receive buffers start at 1 KiB (NIO's default is 2 KiB) and adapt
    /// between 64 B and 64 KiB: idle connections, the common case for
    /// Redis and LDAP clients, keep half the memory, bulk transfers still
    /// grow to 64 KiB reads within a few reads.
    public static var recvAllocator: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536)
    }
}
