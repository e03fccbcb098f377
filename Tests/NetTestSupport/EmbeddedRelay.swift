import Net
import NIOCore
import NIOEmbedded

/// Two connected embedded channels on one loop joined by a RelayHandler pair.
public func makeEmbeddedRelay() throws -> (loop: EmbeddedEventLoop, client: EmbeddedChannel, upstream: EmbeddedChannel) {
    let loop = EmbeddedEventLoop()
    let client = EmbeddedChannel(loop: loop)
    let upstream = EmbeddedChannel(loop: loop)
    let pair = RelayHandler.matchedPair()
    try client.pipeline.syncOperations.addHandler(pair.client)
    try upstream.pipeline.syncOperations.addHandler(pair.upstream)
    let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
    try client.connect(to: address).wait()
    try upstream.connect(to: address).wait()
    return (loop, client, upstream)
}
