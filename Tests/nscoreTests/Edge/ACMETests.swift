import Foundation
import NetTestSupport
import RESP
import Testing

/// The edge's ACME client against Debian's pebble (pebble-challtestsrv answering every name with
/// 127.0.0.1, HTTP-01 validation sent to the edge's HTTP port), with a third of pebble's nonces rejected.
@Suite("nscore edge ACME (pebble)", .serialized, .timeLimit(.minutes(3)))
struct ACMETests {
    private func start(validity: Int? = nil) async throws -> (EdgeHarness, PebbleServer) {
        let h = try await EdgeHarness(start: false)
        let pebble = try await PebbleServer(httpPort: h.httpPort, nonceReject: 30, validity: validity)
        try await h.startEdge(["--acme-ca-file", pebble.caFile, "--acme-retry", "1"])
        let set = try await h.manage("set-acme-server", #"{"url": "\#(pebble.directoryURL)", "email": "admin@example.org"}"#)
        #expect(set.status == 0, "\(set.output)")
        return (h, pebble)
    }

    private func served(_ h: EdgeHarness, _ name: String, _ field: String) async throws -> String {
        try await runCommandOffPool("/bin/sh", ["-c", "echo | openssl s_client -connect 127.0.0.1:\(h.httpsPort) -servername \(name) 2>/dev/null | openssl x509 -noout -\(field)"]).output
    }

    @Test("set-certificate obtains a certificate over HTTP-01, served by SNI, chaining to pebble's root; renew replaces it; no private key in Redis in clear")
    func issuanceAndRenewal() async throws {
        let (h, pebble) = try await start()
        do {
            let obtained = try await h.manage("set-certificate", #"{"fqdn": "demo.test", "sync": true, "timeout": 60}"#)
            #expect(obtained.status == 0 && obtained.output.contains("\"valid\""), "\(obtained.output) \(obtained.error)\n\(h.log)")
            #expect(try await served(h, "demo.test", "subject").contains("CN = demo.test"))
            #expect(try await served(h, "demo.test", "issuer").contains("Pebble Intermediate"))
            // The served chain verifies against the root pebble publishes.
            try (try await pebble.root()).write(toFile: h.root + "/pebble-root.pem", atomically: true, encoding: .utf8)
            let verify = try await runCommandOffPool("/bin/sh", ["-c", "echo | openssl s_client -connect 127.0.0.1:\(h.httpsPort) -servername demo.test -showcerts -verify_return_error -CAfile \(h.root)/pebble-root.pem -verify_hostname demo.test 2>&1 | grep -E 'Verify return code'"])
            #expect(verify.output.contains("Verify return code: 0 (ok)"), "\(verify.output)")
            #expect(h.log.contains("/.well-known/acme-challenge/"), "the CA's validation went through the edge's HTTP listener")

            let list = try await h.manage("list-certificates", "")
            #expect(list.output.contains("\"demo.test\"") && list.output.contains("\"state\": \"valid\""), "\(list.output)")

            let before = try await served(h, "demo.test", "serial")
            let renewed = try await h.manage("set-certificate", #"{"fqdn": "demo.test", "sync": true, "renew": true, "timeout": 60}"#)
            #expect(renewed.status == 0, "\(renewed.output) \(renewed.error)\n\(h.log.suffix(3000))")
            let after = try await served(h, "demo.test", "serial")
            #expect(before.hasPrefix("serial=") && after.hasPrefix("serial=") && before != after, "\(before) → \(after)")

            // Account key and certificate keys are sealed: no PEM private key in any value.
            var clear: [String] = []
            var keys: [String] = []
            for try await key in h.admin.scan(match: "*") { keys.append(key) }
            #expect(keys.contains("module/edge1/acme/account") && keys.contains("module/edge1/certificate/demo.test"))
            for key in keys {
                let values: [String] = switch try await h.admin.command(["TYPE", key]).value.string {
                case "hash": Array(try await h.admin.hgetall(key).values)
                case "string": [try await h.admin.get(key) ?? ""]
                default: []
                }
                let decoded = values.map { v in Data(base64Encoded: v).map { String(decoding: $0, as: UTF8.self) } ?? v }
                if (values + decoded).contains(where: { $0.contains("PRIVATE KEY") }) { clear.append(key) }
            }
            #expect(clear.isEmpty, "private key in clear under \(clear)")
            #expect(try await h.admin.hget("module/edge1/acme/account", "key_sealed")?.hasPrefix("sealed:v1:") == true)
        } catch { Issue.record("\(error)\n\(h.log)") }
        await pebble.close()
        await h.close()
    }

    @Test("ACME server down: set-certificate fails with a clear error, retries back off (1, 2, 4 s…), list-certificates shows it; pebble back (accounts forgotten) → registered again and obtained")
    func serverDown() async throws {
        let (h, pebble) = try await start()
        do {
            let first = try await h.manage("set-certificate", #"{"fqdn": "up.test", "sync": true, "timeout": 60}"#)
            #expect(first.status == 0, "\(first.output) \(first.error)\n\(h.log.suffix(3000))")
            await pebble.stop()
            let failed = try await h.manage("set-certificate", #"{"fqdn": "down.test", "sync": true, "timeout": 20}"#)
            #expect(failed.status == 1 && failed.output.isEmpty, "\(failed)")
            let logged = await waitFor(timeout: .seconds(15)) { h.log.components(separatedBy: "cannot obtain a certificate for down.test").count > 3 }
            #expect(logged, "\(h.log)")
            #expect(h.log.contains("cannot reach the ACME server at https://localhost:\(pebble.port)"))
            // Attempts back off: each gap longer than the one before (jitter ±10 %).
            let times = h.log.split(separator: "\n").filter { $0.contains("cannot obtain a certificate for down.test") }
                .compactMap { ISO8601DateFormatter.withFraction.date(from: String($0.prefix(24))) }
            let gaps = zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) }
            #expect(gaps.count >= 2 && zip(gaps.dropFirst(), gaps).allSatisfy { $0 > $1 * 1.4 }, "gaps \(gaps)")
            let list = try await h.manage("list-certificates", "")
            #expect(list.output.contains("\"status\": \"failed\"") && list.output.contains("cannot reach the ACME server"), "\(list.output)")

            try await pebble.start()
            let obtained = await waitFor(timeout: .seconds(30)) { h.log.contains("obtained a certificate for down.test") }
            #expect(obtained, "\(h.log)")
            // Served once the edge has reloaded on the certificate-changed its save published (a moment after the log line).
            #expect(try await waitFor(timeout: .seconds(10)) { try await served(h, "down.test", "subject").contains("CN = down.test") })
            // The new pebble knew no account: accountDoesNotExist → registered again with the same key.
            #expect(h.log.components(separatedBy: "ACME account registered").count == 3, "\(h.log)")
        } catch { Issue.record("\(error)\n\(h.log)") }
        await pebble.close()
        await h.close()
    }

    @Test("a certificate obtained while Redis refuses to store it (ACL) is stored once Redis takes it again, without a second order to the CA")
    func storeRetry() async throws {
        let (h, pebble) = try await start()
        do {
            // The edge may still read everything and write its ACME state, but no certificate.
            let narrowed = try await h.admin.command(["ACL", "SETUSER", "module/edge1", "resetkeys", "~module/edge1/acme*", "~module/edge1/public_key",
                                                      "~task/module/edge1/*", "%R~cluster/*", "%R~node/*", "%R~module/*", "%R~private/agents/*"])
            #expect(narrowed.value.string == "OK", "\(narrowed)")
            let issuedBefore = pebble.log.components(separatedBy: "Issued certificate serial").count
            let asked = try await h.manage("set-certificate", #"{"fqdn": "kept.test"}"#)
            #expect(asked.status == 0, "\(asked.output)")
            #expect(await waitFor(timeout: .seconds(30)) { h.log.contains("cannot obtain a certificate for kept.test") }, "\(h.log)")
            #expect(await waitFor(timeout: .seconds(20)) { h.log.contains("storing the certificate obtained earlier for kept.test") }, "\(h.log)")
            let restored = try await h.admin.command(["ACL", "SETUSER", "module/edge1", "~module/edge1/*"])
            #expect(restored.value.string == "OK", "\(restored)")
            #expect(await waitFor(timeout: .seconds(20)) { h.log.contains("obtained a certificate for kept.test") }, "\(h.log)")
            #expect(try await served(h, "kept.test", "subject").contains("CN = kept.test"))
            let issued = pebble.log.components(separatedBy: "Issued certificate serial").count - issuedBefore
            #expect(issued == 1, "one certificate issued by the CA, stored late: \(issued)\n\(pebble.log.suffix(2000))")
        } catch { Issue.record("\(error)\n\(h.log)") }
        await pebble.close()
        await h.close()
    }

    @Test("a route with lets_encrypt gets its certificate without set-certificate; invalid set-certificate and set-acme-server input exit 2 with the error array")
    func routeAndValidation() async throws {
        let (h, pebble) = try await start()
        do {
            let route = try await h.manage("set-route", #"{"instance": "app1", "url": "http://127.0.0.1:\#(h.backendPort)", "host": "app.test", "lets_encrypt": true}"#)
            #expect(route.status == 0, "\(route.output)")
            let obtained = await waitFor(timeout: .seconds(30)) { h.log.contains("obtained a certificate for app.test") }
            #expect(obtained, "\(h.log)")
            let body = try await h.curl(["--resolve", "app.test:\(h.httpsPort):127.0.0.1", "https://app.test:\(h.httpsPort)/index.html"])
            #expect(body.contains("hello from the backend"))

            for (command, input, field) in [("set-certificate", #"{"fqdn": "*.wild.test"}"#, "fqdn"), ("set-certificate", #"{"fqdn": "bad_name"}"#, "fqdn"),
                                            ("set-acme-server", #"{"url": "http://insecure.example/dir"}"#, "url"),
                                            ("set-acme-server", #"{"url": "https://ok.example/dir", "email": "nobody"}"#, "email")] {
                let refused = try await h.manage(command, input)
                #expect(refused.status == 2 && refused.output.contains("\"field\":\"\(field)\""), "\(command) \(input): \(refused)")
            }
            // An uploaded certificate under the same name is kept: set-certificate says why nothing is obtained.
            _ = try await runCommandOffPool("/bin/sh", ["-c", "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(h.root)/c.key -out \(h.root)/c.pem -days 30 -subj /CN=custom.test -addext subjectAltName=DNS:custom.test 2>/dev/null"])
            let pem = try String(contentsOfFile: h.root + "/c.pem", encoding: .utf8), key = try String(contentsOfFile: h.root + "/c.key", encoding: .utf8)
            let upload = try await h.manage("upload-certificate --allow-self-signed", JSONValueText.object(["certificate": pem, "key": key]))
            #expect(upload.status == 0, "\(upload.output)")
            let refused = try await h.manage("set-certificate", #"{"fqdn": "custom.test", "sync": true, "timeout": 20}"#)
            #expect(refused.status == 1, "\(refused)")
            let listed = try await h.manage("list-certificates", "")
            #expect(listed.output.contains("an uploaded certificate is stored as custom.test"), "\(listed.output)")
            #expect(try await served(h, "custom.test", "issuer").contains("CN = custom.test"), "the uploaded (self-signed) one is still served")
            let server = try await h.manage("get-acme-server", "")
            #expect(server.output.contains(pebble.directoryURL), "\(server.output)")
        } catch { Issue.record("\(error)\n\(h.log)") }
        await pebble.close()
        await h.close()
    }
}

extension ACMETests {
    @Test("an ACME server that answers garbage or an oversized directory (openssl s_server -WWW): a clear error in list-certificates, nothing stored, the edge keeps serving")
    func badServer() async throws {
        let h = try await EdgeHarness(start: false)
        let ca = try await TestCA()
        let port = freePort()
        try "this is not JSON\n".write(toFile: ca.directory + "/garbage", atomically: true, encoding: .utf8)
        _ = try await runCommandOffPool("/bin/sh", ["-c", "head -c 2097152 /dev/zero | tr '\\0' 'x' > \(ca.directory)/huge"])
        let server = try ExternalProcess("/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", ca.serverCertificate, "-key", ca.serverKey, "-WWW", "-quiet"],
                                         logPath: ca.directory + "/s_server.log", workingDirectory: ca.directory)
        do {
            try await h.startEdge(["--acme-ca-file", ca.caCertificate, "--acme-retry", "30"])
            for (file, error, fqdn) in [("garbage", "not an ACME directory", "garbage.test"), ("huge", "answer larger than 1 MiB", "huge.test")] {
                #expect(try await h.manage("set-acme-server", #"{"url": "https://localhost:\#(port)/\#(file)"}"#).status == 0)
                let failed = try await h.manage("set-certificate", #"{"fqdn": "\#(fqdn)", "sync": true, "timeout": 20}"#)
                #expect(failed.status == 1, "\(failed)")
                let listed = try await h.manage("list-certificates", "")
                #expect(listed.output.contains(error), "\(file): \(listed.output)")
            }
            #expect(try await h.admin.hgetall("module/edge1/certificate/garbage.test").isEmpty)
            #expect(try await h.curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: none.test", "http://127.0.0.1:\(h.httpPort)/"]) == "404")
        } catch { Issue.record("\(error)\n\(h.log)") }
        await server.stop()
        await h.close()
        try? FileManager.default.removeItem(atPath: ca.directory)
    }

    @Test("a certificate is renewed by itself once a third of its lifetime is left (pebble issuing 15 s certificates)")
    func automaticRenewal() async throws {
        let (h, pebble) = try await start(validity: 15)
        do {
            let obtained = try await h.manage("set-certificate", #"{"fqdn": "short.test", "sync": true, "timeout": 30}"#)
            #expect(obtained.status == 0, "\(obtained.output) \(obtained.error)\n\(h.log.suffix(3000))")
            let first = try await served(h, "short.test", "serial")
            let renewed = await waitFor(timeout: .seconds(20)) { h.log.components(separatedBy: "obtained a certificate for short.test").count == 3 }
            #expect(renewed, "\(h.log)")
            let second = try await served(h, "short.test", "serial")
            #expect(first != second, "\(first) → \(second)")
            // Not before the two-thirds mark: the two issuances are ~10 s apart, not back to back.
            let times = h.log.split(separator: "\n").filter { $0.contains("obtained a certificate for short.test") }
                .compactMap { ISO8601DateFormatter.withFraction.date(from: String($0.prefix(24))) }
            #expect(times.count == 2 && times[1].timeIntervalSince(times[0]) > 7, "\(times)")
        } catch { Issue.record("\(error)\n\(h.log)") }
        await pebble.close()
        await h.close()
    }
}

/// A JSON object of strings, as a management command's input.
enum JSONValueText {
    static func object(_ fields: [String: String]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
    }
}

extension ISO8601DateFormatter {
    static var withFraction: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
