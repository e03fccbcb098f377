import CLDAP
import CSodium
import CSystemd
import Testing

@Suite("system-library shims link and work")
struct ShimTests {
    @Test("libsodium: init and a sealed box round trip")
    func sodium() {
        #expect(sodium_init() >= 0)
        var pk = [UInt8](repeating: 0, count: Int(crypto_box_PUBLICKEYBYTES))
        var sk = [UInt8](repeating: 0, count: Int(crypto_box_SECRETKEYBYTES))
        #expect(crypto_box_keypair(&pk, &sk) == 0)
        let message = Array("secret".utf8)
        var sealed = [UInt8](repeating: 0, count: message.count + crypto_box_sealbytes())
        #expect(crypto_box_seal(&sealed, message, UInt64(message.count), pk) == 0)
        var opened = [UInt8](repeating: 0, count: message.count)
        #expect(crypto_box_seal_open(&opened, sealed, UInt64(sealed.count), pk, sk) == 0)
        #expect(opened == message)
        sealed[0] ^= 1
        #expect(crypto_box_seal_open(&opened, sealed, UInt64(sealed.count), pk, sk) != 0)
    }

    @Test("libldap: a handle for an LDAP URL, a clear error for a bad one")
    func ldap() {
        var handle: OpaquePointer?
        #expect(ldap_initialize(&handle, "ldap://127.0.0.1:1/") == LDAP_SUCCESS)
        #expect(handle != nil)
        _ = ldap_unbind_ext_s(handle, nil, nil)
        var bad: OpaquePointer?
        #expect(ldap_initialize(&bad, "notaurl://x") != LDAP_SUCCESS)
    }

    @Test("libsystemd: without NOTIFY_SOCKET, notify is a no-op and no fds are passed")
    func systemd() {
        unsetenv("NOTIFY_SOCKET")
        #expect(sd_notify(0, "READY=1") == 0)
        #expect(sd_listen_fds(0) <= 0)
    }
}
