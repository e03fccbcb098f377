import Foundation
import JSON
import NetTestSupport
import Testing

extension LDAPProxySuites {
    @Suite("nscore ldap check")
    struct Check {
        @Test("anonymous and service binds, schema and base DN; a wrong password and a wrong CA fail naming the step; Start TLS and LDAPS with --ca-file")
        func check() async throws {
            let ca = try await TestCA()
            let otherCA = try await TestCA(name: "some-other-ca")
            let slapd = try await SlapdServer(ca: ca)
            defer { Task { await slapd.stop() } }
            let dir = try makeTempDirectory(prefix: "nscore-ldap-check")
            try SlapdServer.servicePassword.appending("\n").write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
            try "wrong\n".write(toFile: dir + "/bad", atomically: true, encoding: .utf8)
            func check(_ args: [String]) async throws -> (status: Int32, output: String) {
                try await runCommandOffPool(nscoreBinary, ["ldap", "check", "--host", "127.0.0.1"] + args)
            }

            let anonymous = try await check(["--port", "\(slapd.port)"])
            #expect(anonymous.status == 0, "\(anonymous.output)")
            #expect(anonymous.output.contains("bind:            anonymous ok"))
            #expect(anonymous.output.contains("schema:          rfc2307"))
            #expect(anonymous.output.contains("base dn:         dc=example,dc=org"))

            let service = try await check(["--port", "\(slapd.port)", "--tls", "starttls", "--ca-file", ca.caCertificate,
                                           "--bind-dn", SlapdServer.serviceDN, "--bind-password-file", dir + "/pw", "--json"])
            #expect(service.status == 0, "\(service.output)")
            let report = try JSONValue.parse(service.output)
            #expect(report["bound_as"] == .string(SlapdServer.serviceDN))
            #expect(report["schema"] == .string("rfc2307"))
            #expect(report["base_dn"] == .string("dc=example,dc=org"))
            #expect(!service.output.contains(SlapdServer.servicePassword))

            let ldaps = try await check(["--port", "\(slapd.tlsPort)", "--tls", "on", "--ca-file", ca.caCertificate])
            #expect(ldaps.status == 0, "\(ldaps.output)")
            #expect(ldaps.output.contains("provider:        ldaps://127.0.0.1:\(slapd.tlsPort)"))

            let wrongPassword = try await check(["--port", "\(slapd.port)", "--bind-dn", SlapdServer.serviceDN, "--bind-password-file", dir + "/bad"])
            #expect(wrongPassword.status == 1)
            #expect(wrongPassword.output.contains("bind as \(SlapdServer.serviceDN) failed: Invalid credentials"))

            let wrongCA = try await check(["--port", "\(slapd.tlsPort)", "--tls", "on", "--ca-file", otherCA.caCertificate])
            #expect(wrongCA.status == 1)
            #expect(wrongCA.output.contains("anonymous bind failed: Can't contact LDAP server"), "\(wrongCA.output)")

            let nothing = try await check(["--port", "\(freePort())"])
            #expect(nothing.status == 1)
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}
