import Edge
import Testing

private func route(_ fields: [String: String]) throws -> Route {
    var all = ["url": "http://127.0.0.1:8080"]
    all.merge(fields) { $1 }
    return try Route(fields: all)
}

@Suite("Edge: routes and matching (EDGE.md)")
struct RouteTableTests {
    @Test("priorities: host+path 3, host 2, path 1; explicit priority wins; then the longer path")
    func priorities() throws {
        let table = RouteTable([
            try route(["instance": "pathonly", "path": "/app"]),
            try route(["instance": "hostonly", "host": "Mail.Example.org"]),
            try route(["instance": "hostpath", "host": "mail.example.org", "path": "/webmail/"]),
            try route(["instance": "deeper", "host": "mail.example.org", "path": "/webmail/admin"]),
            try route(["instance": "forced", "path": "/forced", "priority": "10"]),
            try route(["instance": "root", "path": "/"]),
        ])
        func m(_ host: String, _ path: String) -> String? { table.match(host: host, path: path)?.instance }
        #expect(m("mail.example.org", "/webmail") == "hostpath")
        #expect(m("mail.example.org:443", "/webmail/inbox?x=1") == "hostpath")
        #expect(m("mail.example.org", "/webmail/admin/users") == "deeper", "longer path first at equal priority")
        #expect(m("mail.example.org", "/webmailer") == "hostonly", "/webmail does not match /webmailer")
        #expect(m("MAIL.example.org", "/") == "hostonly")
        #expect(m("other.org", "/app/x") == "pathonly")
        #expect(m("mail.example.org", "/forced/x") == "forced", "explicit priority beats host (2)")
        #expect(m("other.org", "/nothing") == "root", "path / matches all")
        #expect(RouteTable([try route(["instance": "x", "host": "a.org"])]).match(host: "b.org", path: "/") == nil)
        #expect(try route(["instance": "p", "path": "/a/"]).path == "/a", "a trailing / is ignored")
    }

    @Test("strip_prefix, flags, backend URLs, allowlists; invalid fields name themselves")
    func fields() throws {
        let r = try route(["instance": "s", "path": "/app", "strip_prefix": "true", "http2https": "1", "ip_allowlist": "10.0.0.0/8 ::1 192.0.2.7"])
        #expect(r.backendPath(for: "/app/x/y") == "/x/y")
        #expect(r.backendPath(for: "/app") == "/")
        #expect(r.backendPath(for: "/app?q=1") == "/?q=1")
        #expect(r.http2https && !r.letsEncrypt)
        #expect(r.ipAllowlist.contains { $0.contains("10.1.2.3") })
        #expect(r.ipAllowlist.contains { $0.contains("::1") })
        #expect(r.ipAllowlist.contains { $0.contains("::ffff:192.0.2.7") })
        #expect(!r.ipAllowlist.contains { $0.contains("11.0.0.1") })
        #expect(try BackendURL(parsing: "https://[::1]:8443/base") == BackendURL(parsing: "https://[::1]:8443"))
        #expect(try BackendURL(parsing: "https://backend").port == 443)
        for (fields, field) in [(["instance": "a b", "path": "/"], "instance"), (["instance": "a", "path": "/", "url": "ftp://x"], "url"),
                                (["instance": "a"], "host"), (["instance": "a", "path": "x"], "path"),
                                (["instance": "a", "path": "/", "priority": "high"], "priority"),
                                (["instance": "a", "path": "/", "strip_prefix": "maybe"], "strip_prefix"),
                                (["instance": "a", "path": "/", "ip_allowlist": "10.0.0.0/33"], "ip_allowlist"),
                                (["instance": "a", "host": "bad host"], "host")] {
            #expect(throws: RouteError.self) { try route(fields) }
            do { _ = try route(fields) } catch { #expect((error as? RouteError)?.field == field, "\(fields)") }
        }
    }
}
