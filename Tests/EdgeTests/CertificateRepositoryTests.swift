import Edge
import Foundation
import Net
import NetTestSupport
import NIOPosix
import RESP
import Secrets
import Testing

@Suite("Edge: certificates in Redis with sealed keys", .timeLimit(.minutes(2)))
struct CertificateRepositoryTests {
    @Test("save, load, list and delete; no private key in Redis in clear (every key and value scanned); certificate-changed on each change")
    func roundTrip() async throws {
        try await withRedisServer { redis in
            let connection = try await RedisConnection.connect(host: "127.0.0.1", port: redis.port, group: .singletonMultiThreadedEventLoopGroup)
            let keys = try KeyPair.generate()
            let repository = CertificateRepository(redis: connection, edgeID: "traefik1", nodeID: 1, keys: keys)
            let events = RedisClient(endpoint: RedisEndpoint(Endpoint(host: "127.0.0.1", port: redis.port)),
                                     group: MultiThreadedEventLoopGroup.singleton, poolSize: 1)
            let subscription = try await events.subscribe(channels: ["module/traefik1/event/certificate-changed"])
            var iterator = subscription.makeAsyncIterator()
            func nextEvent() async -> String? {
                while let event = await iterator.next() { if case .message(_, let payload, _) = event { return String(buffer: payload) } }
                return nil
            }

            let a = try SelfSigned.make(names: ["a.example.org", "www.example.org"])
            let custom = try SelfSigned.make(names: ["*.b.org"])
            try await repository.save(a, as: "a.example.org")
            #expect(await nextEvent() == #"{"node_id":1,"module_id":"traefik1","names":["a.example.org","www.example.org"]}"#)
            try await repository.save(custom, as: "wild.b.org")
            #expect(await nextEvent() == #"{"node_id":1,"module_id":"traefik1","names":["*.b.org"]}"#)

            // Nothing in Redis shows a private key: not the PEM, not its base64, not its body.
            let dump = try await runCommandOffPool("/bin/sh", ["-c",
                "for k in $(redis-cli -p \(redis.port) --scan); do redis-cli -p \(redis.port) --raw type $k; redis-cli -p \(redis.port) --raw hgetall $k 2>/dev/null; redis-cli -p \(redis.port) --raw smembers $k 2>/dev/null; done"]).output
            #expect(dump.contains("key_sealed") && dump.contains("sealed:v1:"))
            for cert in [a, custom] {
                let body = cert.keyPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
                #expect(!dump.contains("PRIVATE KEY"))
                #expect(!dump.contains(String(body.prefix(24))), "the key's base64 body is not in Redis")
                #expect(!dump.contains(String(Base64.encode(Array(cert.keyPEM.utf8)).prefix(24))))
            }
            #expect(Set(try await connection.smembers("module/traefik1/hosts")) == ["a.example.org", "www.example.org", "*.b.org"])

            let loaded = try await repository.loadAll()
            #expect(loaded.map(\.name) == ["a.example.org", "wild.b.org"])
            #expect(loaded.first?.certificate == a)
            // Another key pair cannot open them.
            let stranger = CertificateRepository(redis: connection, edgeID: "traefik1", nodeID: 1, keys: try KeyPair.generate())
            var skipped: [String] = []
            #expect(try await stranger.loadAll { name, _ in skipped.append(name) }.isEmpty)
            #expect(skipped == ["a.example.org", "wild.b.org"])

            #expect(try await repository.delete("wild.b.org"))
            #expect(await nextEvent() == #"{"node_id":1,"module_id":"traefik1","names":["*.b.org"]}"#)
            #expect(try await repository.delete("wild.b.org") == false)
            #expect(try await repository.load("wild.b.org") == nil)
            await subscription.close()
            await events.close()
            await connection.close()
        }
    }
}
