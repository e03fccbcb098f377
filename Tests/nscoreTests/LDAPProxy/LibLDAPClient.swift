import CLDAP
import Glibc

/// A real LDAP client for tests: libldap (OpenLDAP's), synchronous calls.
/// One instance is used by one task at a time.
final class LibLDAPClient: @unchecked Sendable {
    private let ld: OpaquePointer

    /// Opens a handle for `uri` (the connection is made by the first operation).
    init(_ uri: String, caFile: String? = nil, startTLS: Bool = false) throws {
        var handle: OpaquePointer?
        guard ldap_initialize(&handle, uri) == LDAP_SUCCESS, let handle else { throw LDAPClientError(code: -1, what: "initialize \(uri)") }
        ld = handle
        var version = LDAP_VERSION3
        ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &timeout)
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &timeout)
        if let caFile {
            _ = caFile.withCString { ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, $0) }
            var zero: Int32 = 0
            ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero)
        }
        if startTLS {
            let rc = ldap_start_tls_s(ld, nil, nil)
            guard rc == LDAP_SUCCESS else { throw LDAPClientError(code: rc, what: "start tls") }
        }
    }

    /// A simple bind; returns the result code (0 = success, 49 = invalid credentials, -1 = server down).
    func bind(_ dn: String, _ password: String) -> Int32 {
        var credentials = berval(bv_len: ber_len_t(password.utf8.count), bv_val: strdup(password))
        defer { free(credentials.bv_val) }
        return ldap_sasl_bind_s(ld, dn, nil, &credentials, nil, nil, nil)
    }

    /// A subtree search; the DNs and the values of `attribute` of each entry, or the result code.
    func search(base: String, filter: String, attribute: String = "cn") -> Result<[(dn: String, values: [String])], LDAPClientError> {
        var attrs: [UnsafeMutablePointer<CChar>?] = [strdup(attribute), nil]
        defer { free(attrs[0]) }
        var result: OpaquePointer?
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        let rc = ldap_search_ext_s(ld, base, 2, filter, &attrs, 0, nil, nil, &timeout, 0, &result)
        defer { if let result { ldap_msgfree(result) } }
        guard rc == LDAP_SUCCESS else { return .failure(LDAPClientError(code: rc, what: "search \(filter)")) }
        var out: [(dn: String, values: [String])] = []
        var entry = ldap_first_entry(ld, result)
        while let e = entry {
            let dnPointer = ldap_get_dn(ld, e)
            let dn = dnPointer.map { String(cString: $0) } ?? ""
            ldap_memfree(dnPointer)
            var values: [String] = []
            if let list = ldap_get_values_len(ld, e, attribute) {
                var i = 0
                while let v = list[i] {
                    values.append(String(decoding: UnsafeRawBufferPointer(start: v.pointee.bv_val, count: Int(v.pointee.bv_len)), as: UTF8.self))
                    i += 1
                }
                ldap_value_free_len(list)
            }
            out.append((dn, values))
            entry = ldap_next_entry(ld, e)
        }
        return .success(out)
    }

    deinit { ldap_unbind_ext_s(ld, nil, nil) }
}

struct LDAPClientError: Error, CustomStringConvertible {
    let code: Int32
    let what: String
    var description: String { "\(what): \(String(cString: ldap_err2string(code))) (\(code))" }
}
