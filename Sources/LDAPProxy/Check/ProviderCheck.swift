import CLDAP
import JSON
#if canImport(Glibc)
import Glibc
#endif

/// `nscore ldap check`: validates a provider before it is added, with
/// libldap (a second, independent LDAP implementation): connect (LDAPS or
/// Start TLS as asked, certificate checked unless told not to), bind,
/// read the root DSE, and detect the schema and base DN. Blocking.
public struct ProviderCheck: Sendable {
    public var host: String
    public var port: Int
    public var tls: LDAPTLSMode
    public var tlsVerify: Bool
    public var caFile: String?
    /// Empty for an anonymous bind.
    public var bindDN: String
    public var bindPassword: String
    public var timeoutSeconds: Int

    public init(host: String, port: Int, tls: LDAPTLSMode = .off, tlsVerify: Bool = true, caFile: String? = nil,
                bindDN: String = "", bindPassword: String = "", timeoutSeconds: Int = 5) {
        self.host = host
        self.port = port
        self.tls = tls
        self.tlsVerify = tlsVerify
        self.caFile = caFile
        self.bindDN = bindDN
        self.bindPassword = bindPassword
        self.timeoutSeconds = timeoutSeconds
    }

    /// What the provider said.
    public struct Report: Sendable, Equatable {
        public var uri: String
        public var boundAs: String?
        public var namingContexts: [String]
        /// `ad` when the root DSE says `isGlobalCatalogReady: TRUE`, else `rfc2307`.
        public var schema: String
        /// The first naming context.
        public var baseDN: String?
        public var vendor: String?
    }

    /// The LDAP URI libldap is given.
    public var uri: String {
        let scheme = tls == .on ? "ldaps" : "ldap"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart):\(port)"
    }

    public func run() throws(ProviderCheckError) -> Report {
        var handle: OpaquePointer?
        guard ldap_initialize(&handle, uri) == LDAP_SUCCESS, let ld = handle else { throw .failed(step: "connect", "cannot use URI \(uri)") }
        defer { ldap_unbind_ext_s(ld, nil, nil) }
        var version = LDAP_VERSION3
        ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version)
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &timeout)
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &timeout)
        ldap_set_option(ld, LDAP_OPT_REFERRALS, nil)  // LDAP_OPT_OFF
        if tls != .off {
            var require = tlsVerify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER
            ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require)
            if let caFile { _ = caFile.withCString { ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, $0) } }
            var zero: Int32 = 0
            ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero)
        }
        if tls == .starttls {
            let rc = ldap_start_tls_s(ld, nil, nil)
            guard rc == LDAP_SUCCESS else { throw .failed(step: "start tls", Self.describe(ld, rc)) }
        }
        var credentials = berval(bv_len: 0, bv_val: nil)
        let rc: Int32 = bindPassword.withCString { pw in
            credentials.bv_val = UnsafeMutablePointer(mutating: pw)
            credentials.bv_len = ber_len_t(bindPassword.utf8.count)
            return ldap_sasl_bind_s(ld, bindDN.isEmpty ? nil : bindDN, nil, &credentials, nil, nil, nil)
        }
        guard rc == LDAP_SUCCESS else {
            throw .failed(step: bindDN.isEmpty ? "anonymous bind" : "bind as \(bindDN)", Self.describe(ld, rc))
        }
        let dse = try rootDSE(ld)
        let contexts = dse["namingcontexts"] ?? []
        let ad = (dse["isglobalcatalogready"]?.first?.uppercased() == "TRUE")
        return Report(uri: uri, boundAs: bindDN.isEmpty ? nil : bindDN, namingContexts: contexts, schema: ad ? "ad" : "rfc2307",
                      baseDN: contexts.first, vendor: dse["vendorname"]?.first)
    }

    /// The root DSE's attributes, names lower-cased.
    private func rootDSE(_ ld: OpaquePointer) throws(ProviderCheckError) -> [String: [String]] {
        let names = ["namingContexts", "isGlobalCatalogReady", "vendorName", "defaultNamingContext"]
        var cNames: [UnsafeMutablePointer<CChar>?] = names.map { strdup($0) } + [nil]
        defer { for p in cNames { free(p) } }
        var result: OpaquePointer?
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        let rc = ldap_search_ext_s(ld, "", 0, "(objectClass=*)", &cNames, 0, nil, nil, &timeout, 0, &result)
        defer { if let result { ldap_msgfree(result) } }
        guard rc == LDAP_SUCCESS else { throw .failed(step: "root DSE search", Self.describe(ld, rc)) }
        guard let entry = ldap_first_entry(ld, result) else { throw .failed(step: "root DSE search", "no root DSE entry returned") }
        var out: [String: [String]] = [:]
        for name in names {
            guard let values = ldap_get_values_len(ld, entry, name) else { continue }
            defer { ldap_value_free_len(values) }
            var list: [String] = []
            var i = 0
            while let v = values[i] {
                let bytes = UnsafeRawBufferPointer(start: v.pointee.bv_val, count: Int(v.pointee.bv_len))
                list.append(String(decoding: bytes, as: UTF8.self))
                i += 1
            }
            out[name.lowercased()] = list
        }
        return out
    }

    private static func describe(_ ld: OpaquePointer, _ rc: Int32) -> String {
        var text = String(cString: ldap_err2string(rc))
        var diagnostic: UnsafeMutablePointer<CChar>?
        if ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic) == LDAP_SUCCESS, let diagnostic {
            let extra = String(cString: diagnostic)
            ldap_memfree(diagnostic)
            if !extra.isEmpty { text += " (\(extra))" }
        }
        return text + " [result \(rc)]"
    }
}

/// A step of the check that did not pass.
public enum ProviderCheckError: Error, Sendable, CustomStringConvertible {
    case failed(step: String, String)

    public var description: String {
        switch self {
        case .failed(let step, let why): "\(step) failed: \(why)"
        }
    }
}

extension ProviderCheck.Report {
    /// For people: one `name: value` line per finding.
    public var text: String {
        """
        provider:        \(uri)
        bind:            \(boundAs ?? "anonymous") ok
        naming contexts: \(namingContexts.isEmpty ? "(none)" : namingContexts.joined(separator: "; "))
        schema:          \(schema)
        base dn:         \(baseDN ?? "(none)")
        vendor:          \(vendor ?? "(not given)")

        """
    }

    /// For scripts.
    public var json: String {
        JSONValue.object([
            ("uri", .string(uri)), ("bound_as", boundAs.map { .string($0) } ?? .null),
            ("naming_contexts", .array(namingContexts.map { .string($0) })), ("schema", .string(schema)),
            ("base_dn", baseDN.map { .string($0) } ?? .null), ("vendor", vendor.map { .string($0) } ?? .null),
        ]).serialized
    }
}
