import Foundation
import NetTestSupport
import RESP
import Testing

@Suite("nscore edge", .serialized, .timeLimit(.minutes(2)))
struct EdgeCommandTests {
    @Test("routes from Redis reloaded on routes-changed; a certificate sealed with nscore secret seal served by SNI after certificate-changed; the default kept across a restart")
    func edge() async throws {
        let h = try await EdgeHarness()
        do {
            #expect(try await h.curl(["-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(h.httpsPort)/"]) == "404")
            _ = try await h.admin.hset("module/edge1/routes/site", ["url": "http://127.0.0.1:\(h.backendPort)", "host": "app.test"])
            _ = try await h.admin.publish("module/edge1/event/routes-changed", "{}")
            #expect(await waitFor { (try? await h.curl(["--resolve", "app.test:\(h.httpsPort):127.0.0.1", "https://app.test:\(h.httpsPort)/"])) == "hello from the backend\n" })
            #expect(try await h.curl(["-H", "Host: app.test", "http://127.0.0.1:\(h.httpPort)/"]) == "hello from the backend\n")
            // 128 MiB through the edge to a client reading at 64 MB/s (the backend is far faster): with
            // backpressure the edge's peak memory (VmHWM of the nscore edge process) stays flat.
            _ = try await runCommandOffPool("/bin/sh", ["-c", "head -c 134217728 /dev/zero > \(h.root)/big.bin"])
            let peakBefore = h.edgePeakKB()
            let size = try await h.curl(["--limit-rate", "64M", "-o", "/dev/null", "-w", "%{size_download}", "-H", "Host: app.test", "http://127.0.0.1:\(h.httpPort)/big.bin"])
            #expect(size == "134217728")
            #expect(h.edgePeakKB() - peakBefore < 32 * 1024, "streamed, not buffered: peak RSS grew \(h.edgePeakKB() - peakBefore) KiB")
            try? FileManager.default.removeItem(atPath: h.root + "/big.bin")
            // The access log: client host method path status bytes duration route.
            #expect(await waitFor { h.log.split(separator: "\n").contains { $0.contains("127.0.0.1 app.test GET / 200 23 ") && $0.contains("ms site") } }, "\(h.log)")
            #expect(h.log.split(separator: "\n").contains { $0.contains("127.0.0.1:\(h.httpsPort) GET / 404 ") && $0.contains("ms - log=access") }, "\(h.log)")

            // No private key in clear anywhere in Redis; the edge's public key is published for sealing.
            let dump = try await runCommandOffPool("/bin/sh", ["-c", "for k in $(redis-cli -p \(h.redis.port) --user cluster --pass cluster-pw --no-auth-warning --scan); do redis-cli -p \(h.redis.port) --user cluster --pass cluster-pw --no-auth-warning --raw hgetall $k 2>/dev/null; done"]).output
            #expect(dump.contains("sealed:v1:") && !dump.contains("PRIVATE KEY"))
            #expect(try await h.admin.get("module/edge1/public_key")?.count == 44)
            let defaultSubject = try await h.servedSubject("unknown.test")
            #expect(defaultSubject.contains("CN = localhost"), "\(defaultSubject)")

            // An uploaded certificate for app.test: key sealed to the edge with nscore secret seal.
            let dir = h.root
            _ = try await runCommandOffPool("/bin/sh", ["-c", "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(dir)/app.key -out \(dir)/app.pem -days 30 -subj /CN=app.test -addext subjectAltName=DNS:app.test 2>/dev/null"])
            let sealed = try await runCommandOffPool("/bin/sh", ["-c", "REDIS_ADDRESS=127.0.0.1:\(h.redis.port) \(nscoreBinary) secret seal --to module/edge1 < \(dir)/app.key"]).output
            #expect(sealed.hasPrefix("sealed:v1:"), "\(sealed)")
            let cert = try Data(contentsOf: URL(fileURLWithPath: dir + "/app.pem")).base64EncodedString()
            _ = try await h.admin.hset("module/edge1/certificate/app.test", ["cert": cert, "key_sealed": sealed.trimmingCharacters(in: .whitespacesAndNewlines), "custom": "true"])
            _ = try await h.admin.publish("module/edge1/event/certificate-changed", "{}")
            #expect(await waitFor { ((try? await h.servedSubject("app.test")) ?? "").contains("CN = app.test") }, "\(h.log)")
            #expect(try await h.servedSubject("unknown.test") == defaultSubject)

            // Restart: the same default certificate (kept in Redis, its key opened with state/edge.key).
            let fingerprint = { (name: String) async throws -> String in
                try await runCommandOffPool("/bin/sh", ["-c", "echo | openssl s_client -connect 127.0.0.1:\(h.httpsPort) -servername \(name) 2>/dev/null | openssl x509 -noout -fingerprint"]).output
            }
            let before = try await fingerprint("unknown.test")
            #expect(before.contains("Fingerprint="))
            await h.stopEdge()
            try await h.startEdge()
            #expect(await waitFor { (try? await fingerprint("unknown.test")) == before }, "the kept default, not a new one")
            #expect(!h.log.contains("made a self-signed default certificate"), "\(h.log)")
            #expect(!h.log.contains("made the edge's key pair"), "the key pair is kept in the state directory")
            #expect(try await fingerprint("app.test") != before)
        } catch {
            await h.close()
            throw error
        }
        await h.close()
    }

    @Test("management commands: set/get/list/delete-route and upload/list/get/delete-certificate, with the protocol's error arrays and exit codes")
    func management() async throws {
        let h = try await EdgeHarness()
        do {
            let set = try await h.manage("set-route", #"{"instance": "site", "url": "http://127.0.0.1:\#(h.backendPort)", "host": "site.test", "strip_prefix": false}"#)
            #expect(set.status == 0, "\(set.output)")
            #expect(set.output.contains(#""instance" : "site""#) || set.output.contains(#""instance": "site""#), "\(set.output)")
            #expect(await waitFor { (try? await h.curl(["-H", "Host: site.test", "http://127.0.0.1:\(h.httpPort)/"])) == "hello from the backend\n" })
            let bad = try await h.manage("set-route", #"{"instance": "x", "url": "ftp://nowhere", "host": "x.test"}"#)
            #expect(bad.status == 2)
            #expect(bad.output.contains(#""field":"url""#) && bad.output.contains(#""parameter":"url""#) && bad.output.contains(#""error":"#), "\(bad.output)")
            #expect(try await h.manage("list-routes", "").output.contains("site.test"))
            #expect(try await h.manage("get-route", #"{"instance": "nope"}"#).status == 2)
            #expect(try await h.manage("delete-route", #"{"instance": "site"}"#).status == 0)
            #expect(await waitFor { (try? await h.curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: site.test", "http://127.0.0.1:\(h.httpPort)/"])) == "404" })

            // Certificates.
            let dir = h.root
            _ = try await runCommandOffPool("/bin/sh", ["-c", """
                for n in a b; do openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(dir)/$n.key -out \(dir)/$n.pem -days 90 \
                  -subj /CN=$n.cert.test -addext subjectAltName=DNS:$n.cert.test 2>/dev/null; done
                """])
            func upload(_ cert: String, _ key: String, _ flags: String = " --allow-self-signed") async throws -> (status: Int32, output: String, error: String) {
                let json = "{\"certificate\": \(try JSONEncoder().encode(try String(contentsOfFile: dir + cert, encoding: .utf8)).string), \"key\": \(try JSONEncoder().encode(try String(contentsOfFile: dir + key, encoding: .utf8)).string)}"
                return try await h.manage("upload-certificate" + flags, json)
            }
            // Self-signed: untrusted (7) unless the upload may be its own root.
            let untrusted = try await upload("/a.pem", "/a.key", "")
            #expect(untrusted.status == 7 && untrusted.output.contains("not signed by a system CA"), "\(untrusted.output)")
            let mismatch = try await upload("/a.pem", "/b.key")
            #expect(mismatch.status == 4, "\(mismatch.output)")
            #expect(mismatch.output.contains(#""field":"key""#))
            let garbage = try await h.manage("upload-certificate", #"{"certificate": "nope", "key": "nope"}"#)
            #expect(garbage.status == 2, "\(garbage.output)")
            let ok = try await upload("/a.pem", "/a.key")
            #expect(ok.status == 0, "\(ok.output)")
            #expect(await waitFor { ((try? await h.servedSubject("a.cert.test")) ?? "").contains("CN = a.cert.test") })
            let list = try await h.manage("list-certificates", "")
            #expect(list.output.contains("a.cert.test"), "\(list.output)")
            #expect(list.output.contains(#""status" : "valid""#) || list.output.contains(#""status": "valid""#), "\(list.output)")
            let got = try await h.manage("get-certificate", #"{"name": "a.cert.test"}"#)
            #expect(got.output.contains("PRIVATE KEY"), "the authorised caller gets the key")
            #expect(try await h.manage("delete-certificate", #"{"name": "a.cert.test"}"#).status == 0)
            #expect(await waitFor { ((try? await h.servedSubject("a.cert.test")) ?? "").contains("CN = localhost") })
            #expect(try await h.manage("delete-certificate", #"{"name": "a.cert.test"}"#).status == 2)
        } catch {
            await h.close()
            throw error
        }
        await h.close()
    }

    @Test("1 GiB download and 1 GiB upload through nscore edge, streamed: the edge process's peak memory grows less than 32 MiB")
    func gigabyte() async throws {
        let h = try await EdgeHarness()
        let port = freePort()
        try Self.streamingBackend.write(toFile: h.root + "/stream.py", atomically: true, encoding: .utf8)
        let backend = try ExternalProcess("/usr/bin/python3", [h.root + "/stream.py", String(port)], logPath: h.root + "/stream.log")
        do {
            _ = try await h.admin.hset("module/edge1/routes/big", ["url": "http://127.0.0.1:\(port)", "host": "big.test"])
            _ = try await h.admin.publish("module/edge1/event/routes-changed", "{}")
            #expect(await waitFor { (try? await h.curl(["-H", "Host: big.test", "http://127.0.0.1:\(h.httpPort)/big?n=3"]).count) == 3 })
            let peakBefore = h.edgePeakKB()
            let down = try await runCommandOffPool("/usr/bin/curl", ["-sS", "--max-time", "120", "-o", "/dev/null", "-w", "%{size_download}", "-H", "Host: big.test",
                                                                 "http://127.0.0.1:\(h.httpPort)/big?n=1073741824"])
            #expect(down.output == "1073741824", "\(down.output)")
            // A sparse 1 GiB file: curl -T streams it (PUT with Content-Length) without reading it into memory.
            _ = try await runCommandOffPool("/usr/bin/truncate", ["-s", "1G", h.root + "/up.bin"])
            let up = try await runCommandOffPool("/usr/bin/curl", ["-sS", "--max-time", "120", "-H", "Host: big.test", "-T", h.root + "/up.bin",
                                                               "http://127.0.0.1:\(h.httpPort)/up"])
            #expect(up.output == "received 1073741824\n", "\(up.output)")
            let growth = h.edgePeakKB() - peakBefore
            #expect(growth < 32 * 1024, "streamed, not buffered: peak RSS grew \(growth) KiB")
        } catch { Issue.record("\(error)\n\(h.log)") }
        await backend.stop()
        await h.close()
    }

    /// GET /big?n=N streams N zero bytes; PUT/POST reads the body in 1 MiB pieces and answers its size.
    private static let streamingBackend = """
        import sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        CHUNK = b"\\0" * (1 << 20)
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def do_GET(self):
                n = int(self.path.split("n=")[1]) if "n=" in self.path else 0
                self.send_response(200); self.send_header("Content-Length", str(n)); self.end_headers()
                while n > 0:
                    k = min(n, len(CHUNK)); self.wfile.write(CHUNK[:k]); n -= k
            def do_PUT(self): self.do_POST()
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0")); got = 0
                while got < n:
                    b = self.rfile.read(min(1 << 20, n - got))
                    if not b: break
                    got += len(b)
                body = ("received %d\\n" % got).encode()
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """

    @Test("the edge module's actions (conf/edge/actions) through a real agent: set-route as a task, validation-failed with the error array")
    func actions() async throws {
        let h = try await EdgeHarness()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let state = h.root + "/agent-state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let agent = try ExternalProcess(nscoreBinary, ["agent", "--agentid=module/edge1", "--actionsdir=\(repo)/conf/edge/actions", "--eventsdir=\(state)/events"],
                                        environment: ["REDIS_ADDRESS": "127.0.0.1:\(h.redis.port)", "REDIS_PASSWORD": "edge-pw", "NSCORE": nscoreBinary, "MODULE_ID": "edge1", "AGENT_ID": "module/edge1",
                                                      "STATE_DIRECTORY": h.root + "/state", "AGENT_POLLING_INTERVAL": "1s", "PATH": "/usr/bin:/bin"],
                                        logPath: h.root + "/agent.log", workingDirectory: state)
        do {
            let env = ["REDIS_ADDRESS": "127.0.0.1:\(h.redis.port)", "REDIS_USER": "cluster", "REDIS_PASSWORD": "cluster-pw"]
            func task(_ action: String, _ data: String) async throws -> (status: Int32, output: String) {
                let p = try ExternalProcess(nscoreBinary, ["task", "run", "module/edge1", action, "--data", data], environment: env,
                                            logPath: h.root + "/task-\(UUID().uuidString.prefix(6)).log")
                let status = await p.waitForExit(timeout: .seconds(20))
                return (status, p.log)
            }
            #expect(await waitFor(timeout: .seconds(10)) { (try? String(contentsOfFile: h.root + "/agent.log", encoding: .utf8))?.contains("starting") == true })
            try await Task.sleep(for: .milliseconds(500))
            let set = try await task("set-route", #"{"instance": "act", "url": "http://127.0.0.1:\#(h.backendPort)", "host": "act.test"}"#)
            #expect(set.status == 0, "\(set.output)")
            #expect(await waitFor { (try? await h.curl(["-H", "Host: act.test", "http://127.0.0.1:\(h.httpPort)/"])) == "hello from the backend\n" })
            let bad = try await task("set-route", #"{"instance": "bad one", "url": "http://x"}"#)
            #expect(bad.status == 10, "the input schema refuses it: \(bad.output)")
            let badHost = try await task("set-route", #"{"instance": "b", "url": "http://x", "host": "bad host"}"#)
            #expect(badHost.status == 2, "\(badHost.output)")
            #expect(badHost.output.contains("validation-failed"), "\(badHost.output)")
            #expect(badHost.output.contains(#""field" : "host""#) || badHost.output.contains(#""field": "host""#), "\(badHost.output)")
            #expect(try await task("list-routes", "{}").output.contains("act.test"))
        } catch {
            await agent.stop()
            await h.close()
            throw error
        }
        await agent.stop()
        await h.close()
    }
}

private extension Data {
    var string: String { String(decoding: self, as: UTF8.self) }
}
