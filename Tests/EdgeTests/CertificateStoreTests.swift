import Edge
import Foundation
import NetTestSupport
import Testing

@Suite("Edge: certificates and SNI selection")
struct CertificateStoreTests {
    @Test("a self-signed certificate has its names and validity; PEM garbage, another key, an expired certificate are refused with their codes")
    func checks() throws {
        let cert = try SelfSigned.make(names: ["a.example.org", "*.b.org"])
        #expect(cert.names == ["a.example.org", "*.b.org"])
        #expect(cert.status() == "valid")
        #expect(!cert.custom)
        let other = try SelfSigned.make(names: ["other.org"])
        #expect(throws: CertificateError.keyMismatch) { try EdgeCertificate(chainPEM: cert.chainPEM, keyPEM: other.keyPEM, custom: true) }
        #expect(throws: CertificateError.self) { try EdgeCertificate(chainPEM: "garbage", keyPEM: cert.keyPEM, custom: true) }
        #expect((try? EdgeCertificate(chainPEM: "garbage", keyPEM: cert.keyPEM, custom: true)) == nil)
        do { _ = try EdgeCertificate(chainPEM: cert.chainPEM, keyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", custom: true) }
        catch { #expect(error.exitCode == 3) }
        let old = try SelfSigned.make(names: ["old.org"], days: 1, now: Date() - 10 * 86400)
        #expect(old.status() == "expired")
        #expect(throws: CertificateError.self) { try EdgeCertificate(chainPEM: old.chainPEM, keyPEM: old.keyPEM, custom: true) }
        do { _ = try EdgeCertificate(chainPEM: old.chainPEM, keyPEM: old.keyPEM, custom: true) } catch { #expect(error.exitCode == 5) }
        let soon = try SelfSigned.make(names: ["soon.org"], days: 10)
        #expect(soon.status() == "expiring")
    }

    @Test("an openssl-made chain (leaf + CA) parses; names come from the SANs")
    func opensslChain() async throws {
        let ca = try await TestCA()
        let leaf = try String(contentsOfFile: ca.serverCertificate, encoding: .utf8)
        let caPEM = try String(contentsOfFile: ca.caCertificate, encoding: .utf8)
        let cert = try EdgeCertificate(chainPEM: leaf + caPEM, keyPEM: try String(contentsOfFile: ca.serverKey, encoding: .utf8), custom: true)
        #expect(cert.names == ["localhost"])
        #expect(cert.chainPEM.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
    }

    @Test("chain verification: a private CA's chain is untrusted (7) against the system CAs; with allowSelfSigned it verifies when the CA is in the upload, not without it; a self-signed certificate likewise")
    func chainVerification() async throws {
        let ca = try await TestCA()
        let leaf = try String(contentsOfFile: ca.serverCertificate, encoding: .utf8)
        let caPEM = try String(contentsOfFile: ca.caCertificate, encoding: .utf8)
        let key = try String(contentsOfFile: ca.serverKey, encoding: .utf8)
        let withCA = try EdgeCertificate(chainPEM: leaf + caPEM, keyPEM: key, custom: true)
        let alone = try EdgeCertificate(chainPEM: leaf, keyPEM: key, custom: true)
        func code(_ c: EdgeCertificate, _ allow: Bool) async -> Int32 {
            do { try await c.verifyChain(allowSelfSigned: allow); return 0 } catch { return error.exitCode }
        }
        #expect(await code(withCA, false) == 7)
        #expect(await code(withCA, true) == 0)
        #expect(await code(alone, true) == 7, "the CA is not in the upload")
        let selfSigned = try SelfSigned.make(names: ["self.test"])
        #expect(await code(selfSigned, false) == 7)
        #expect(await code(selfSigned, true) == 0)
        try? FileManager.default.removeItem(atPath: ca.directory)
    }

    @Test("selection: exact name, then one-level wildcard, then the default; case-insensitive; a swap replaces the whole table")
    func selection() throws {
        let exact = try SelfSigned.make(names: ["a.example.org"])
        let wildcard = try SelfSigned.make(names: ["*.b.org"])
        let fallback = try SelfSigned.make(names: ["default.invalid"])
        let store = CertificateStore()
        try store.replace(with: [exact, wildcard], default: fallback)
        #expect(store.certificate(for: "a.example.org") == exact)
        #expect(store.certificate(for: "A.Example.ORG") == exact)
        #expect(store.certificate(for: "x.b.org") == wildcard)
        #expect(store.certificate(for: "y.x.b.org") == fallback, "a wildcard covers one level only")
        #expect(store.certificate(for: "b.org") == fallback)
        #expect(store.certificate(for: nil) == fallback)
        let exactB = try SelfSigned.make(names: ["x.b.org"])
        try store.replace(with: [exactB, wildcard], default: fallback)
        #expect(store.certificate(for: "x.b.org") == exactB, "an exact name wins over a wildcard")
        #expect(store.certificate(for: "a.example.org") == fallback, "the old table is gone")
    }
}
