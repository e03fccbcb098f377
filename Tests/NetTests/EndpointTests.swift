import Net
import Testing

@Suite("endpoint and listen-address parsing")
struct EndpointTests {
    @Test func hostAndPort() throws {
        let e = try Endpoint(parsing: "127.0.0.1:6379")
        #expect(e == Endpoint(host: "127.0.0.1", port: 6379))
        #expect(e.hostIsIPLiteral)
        #expect(e.description == "127.0.0.1:6379")
    }

    @Test func ipv6InBrackets() throws {
        let e = try Endpoint(parsing: "[::1]:3890")
        #expect(e.host == "::1")
        #expect(e.port == 3890)
        #expect(e.hostIsIPLiteral)
        #expect(e.description == "[::1]:3890")
    }

    @Test func namesAndDefaults() throws {
        let e = try Endpoint(parsing: " ldap.example.org ", defaultPort: 636)
        #expect(e == Endpoint(host: "ldap.example.org", port: 636))
        #expect(!e.hostIsIPLiteral)
    }

    @Test func lists() throws {
        let list = try Endpoint.parseList("a:1, b:2,[::1]:3")
        #expect(list.map(\.description) == ["a:1", "b:2", "[::1]:3"])
    }

    @Test("bad endpoints are rejected with a reason", arguments: [
        ("", EndpointError.empty),
        ("host", .missingPort("host")),
        ("host:99999", .badPort("host:99999")),
        ("host:x", .badPort("host:x")),
        ("::1:80", .malformed("::1:80")),
        ("[::1", .malformed("[::1")),
        (":80", .malformed(":80")),
    ])
    func rejected(text: String, error: EndpointError) {
        #expect(throws: error) { try Endpoint(parsing: text) }
    }

    @Test func listenAddresses() throws {
        #expect(try ListenAddress(parsing: "systemd") == .systemd(index: 0))
        #expect(try ListenAddress(parsing: "systemd:2") == .systemd(index: 2))
        #expect(try ListenAddress(parsing: "127.0.0.1:80") == .bind(Endpoint(host: "127.0.0.1", port: 80)))
    }
}
