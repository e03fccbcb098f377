public import NIOCore

/// Bytes read but not handled yet, kept without copies: the first read is
/// taken as it is, and the storage is let go of as soon as everything in it
/// was handled — a read buffer still referenced here would make its owner
/// (NIOSSL's plaintext buffer, NIO's buffer pool) copy or allocate anew on
/// the next read.
extension ByteBuffer {
    // Used by the edge's HTTP/1.1 proxy and the LDAP framer.
    private static let nothing = ByteBufferAllocator().buffer(capacity: 0)

    /// Appends `bytes`; takes them whole when nothing is pending.
    public mutating func appendPending(_ bytes: ByteBuffer) {
        if readableBytes == 0 {
            self = bytes
        } else {
            var more = bytes
            writeBuffer(&more)
        }
    }

    /// Lets go of the storage when nothing is left to read.
    public mutating func releaseIfDrained() {
        if readableBytes == 0 { self = Self.nothing }
    }

    /// Lets go of the storage and whatever it held.
    public mutating func release() { self = Self.nothing }
}
