import Crypto
import FoundationEssentials
import JSON
import NIOHTTP1
import Secrets
import X509

/// The RFC 8555 conversation with one ACME server for one account: directory,
/// nonces (reused from every answer; `badNonce` retried), account registration
/// (again when the server forgot it), and the order → authorization → HTTP-01
/// → finalize → download flow of ``obtain(name:challenges:)``.
actor ACMEClient {
    let directoryURL: String
    let key: ACMEAccountKey
    let email: String?
    private let http: ACMEHTTPClient
    /// The account URL (JWS `kid`); nil until registered.
    private(set) var accountURL: String?
    private var directory: (newNonce: String, newAccount: String, newOrder: String)?
    private var nonces: [String] = []
    /// How long to wait between polls when the server sends no `Retry-After`, and the limit of a poll.
    var pollInterval: Duration = .seconds(1)
    var pollLimit: Duration = .seconds(120)

    init(directoryURL: String, key: ACMEAccountKey, accountURL: String?, email: String?, http: ACMEHTTPClient) {
        self.directoryURL = directoryURL
        self.key = key
        self.accountURL = accountURL
        self.email = email
        self.http = http
    }

    func setPolling(interval: Duration, limit: Duration) {
        pollInterval = interval
        pollLimit = limit
    }

    // MARK: directory, nonces, signed requests

    private func endpoints() async throws(ACMEError) -> (newNonce: String, newAccount: String, newOrder: String) {
        if let directory { return directory }
        let response = try await http.send(.GET, directoryURL)
        guard response.status == 200, let json = response.json, case .string(let newNonce)? = json["newNonce"],
              case .string(let newAccount)? = json["newAccount"], case .string(let newOrder)? = json["newOrder"] else {
            throw .badResponse(url: directoryURL, reason: "HTTP \(response.status): not an ACME directory (newNonce, newAccount, newOrder)")
        }
        directory = (newNonce, newAccount, newOrder)
        return (newNonce, newAccount, newOrder)
    }

    private func nonce() async throws(ACMEError) -> String {
        if let reused = nonces.popLast() { return reused }
        let url = try await endpoints().newNonce
        let response = try await http.send(.HEAD, url)
        guard let nonce = response.header("replay-nonce") else { throw .badResponse(url: url, reason: "no Replay-Nonce header") }
        return nonce
    }

    /// A signed POST (`payload` nil: POST-as-GET). Retries `badNonce` with a fresh nonce and registers
    /// again once when the server no longer knows the account.
    private func post(_ url: String, _ payload: JSONValue?, accept: String = "application/json", useJWK: Bool = false) async throws(ACMEError) -> ACMEResponse {
        var attempt = 0
        var registeredAgain = false
        while true {
            attempt += 1
            if !useJWK, accountURL == nil { _ = try await register() }
            let body = try key.sign(url: url, nonce: try await nonce(), kid: useJWK ? nil : accountURL, payload: payload)
            let response = try await http.send(.POST, url, body: body, contentType: "application/jose+json", accept: accept)
            if let fresh = response.header("replay-nonce") { nonces.append(fresh) }
            if response.status < 400 { return response }
            let problem = Self.problem(response)
            // Up to 10 tries: at 5, a server rejecting 30 % of nonces (pebble in the tests) failed about one
            // issuance in 40 on some POST — after the certificate was issued, when it was the download.
            if problem.problemType == "badNonce", attempt < 10 { continue }
            if problem.problemType == "accountDoesNotExist", !useJWK, !registeredAgain {
                registeredAgain = true
                accountURL = nil
                continue
            }
            throw problem
        }
    }

    static func problem(_ response: ACMEResponse) -> ACMEError {
        let json = response.json
        guard case .string(let type)? = json?["type"] else {
            return .problem(status: response.status, type: "about:blank", detail: String(decoding: response.body.prefix(200), as: UTF8.self))
        }
        var detail = { if case .string(let d)? = json?["detail"] { d } else { "" } }()
        if case .array(let subproblems)? = json?["subproblems"] {
            for case .string(let d)? in subproblems.map({ $0["detail"] }) { detail += "; " + d }
        }
        return .problem(status: response.status, type: type, detail: detail)
    }

    // MARK: account

    /// Registers the key (or finds its existing account); returns the account URL.
    @discardableResult
    func register() async throws(ACMEError) -> String {
        let url = try await endpoints().newAccount
        var payload: [(name: String, value: JSONValue)] = [("termsOfServiceAgreed", .bool(true))]
        if let email, !email.isEmpty { payload.append(("contact", .array([.string("mailto:" + email)]))) }
        let response = try await post(url, .object(payload), useJWK: true)
        guard let location = response.header("location") else { throw .badResponse(url: url, reason: "newAccount answer has no Location") }
        accountURL = location
        return location
    }

    // MARK: issuance

    /// Obtains a certificate for `name` with a new P-256 key, answering HTTP-01 through `challenges`.
    /// Returns the PEM chain and the key's PEM.
    func obtain(name: String, challenges: ACMEChallenges) async throws(ACMEError) -> (chainPEM: String, keyPEM: String) {
        let newOrder = try await endpoints().newOrder
        let ordered = try await post(newOrder, .object([("identifiers", .array([.object([("type", .string("dns")), ("value", .string(name))])]))]))
        guard let orderURL = ordered.header("location"), let order = ordered.json, case .array(let authorizations)? = order["authorizations"],
              case .string(let finalize)? = order["finalize"] else {
            throw .badResponse(url: newOrder, reason: "an order needs Location, authorizations and finalize")
        }
        for case .string(let authorization) in authorizations {
            try await authorize(authorization, name: name, challenges: challenges)
        }
        let certificateKey = P256.Signing.PrivateKey()
        let csr = try Self.csr(name: name, key: certificateKey)
        var state = try await post(finalize, .object([("csr", .string(Base64.encodeURL(csr)))]))
        let deadline = ContinuousClock.now + pollLimit
        for attempt in 0... {
            let status = state.json?["status"]
            if status == .string("valid") { break }
            if status == .string("invalid") { throw .problem(status: state.status, type: "orderInvalid", detail: "the order for \(name) became invalid") }
            guard ContinuousClock.now < deadline else { throw .timedOut(what: "the order for \(name)") }
            await wait(state, attempt)
            state = try await post(orderURL, nil)
        }
        guard case .string(let certificateURL)? = state.json?["certificate"] else {
            throw .badResponse(url: orderURL, reason: "a valid order without a certificate URL")
        }
        let download = try await post(certificateURL, nil, accept: "application/pem-certificate-chain")
        let chain = String(decoding: download.body, as: UTF8.self)
        guard chain.contains("-----BEGIN CERTIFICATE-----") else { throw .badResponse(url: certificateURL, reason: "not a PEM certificate chain") }
        return (chain, certificateKey.pemRepresentation)
    }

    /// Answers the authorization's HTTP-01 challenge and polls it to `valid`.
    private func authorize(_ url: String, name: String, challenges: ACMEChallenges) async throws(ACMEError) {
        var state = try await post(url, nil)
        if state.json?["status"] == .string("valid") { return }
        guard case .array(let offered)? = state.json?["challenges"],
              let http01 = offered.first(where: { $0["type"] == .string("http-01") }),
              case .string(let token)? = http01["token"], case .string(let challengeURL)? = http01["url"] else {
            throw .challengeFailed(name: name, detail: "the CA offers no http-01 challenge")
        }
        challenges.set(token: token, answer: key.keyAuthorization(token))
        defer { challenges.remove(token: token) }
        _ = try await post(challengeURL, .object([]))
        let deadline = ContinuousClock.now + pollLimit
        for attempt in 0... {
            await wait(state, attempt)
            state = try await post(url, nil)
            switch state.json?["status"] {
            case .string("valid")?: return
            case .string("pending")?, .string("processing")?:
                guard ContinuousClock.now < deadline else { throw .timedOut(what: "the authorization of \(name)") }
            default:
                let detail = (state.json?["challenges"]).flatMap { c -> String? in
                    guard case .array(let all) = c else { return nil }
                    for case .string(let d)? in all.map({ $0["error"]?["detail"] }) { return d }
                    return nil
                } ?? "authorization status \(state.json?["status"]?.serialized ?? "missing")"
                throw .challengeFailed(name: name, detail: detail)
            }
        }
    }

    /// Waits before poll number `attempt` (from 0): the server's Retry-After, else 250 ms doubling up to ``pollInterval``.
    private func wait(_ response: ACMEResponse, _ attempt: Int) async {
        let delay = response.retryAfter.map { Duration.seconds(min(max($0, 1), 30)) } ?? min(.milliseconds(250) * (1 << min(attempt, 10)), pollInterval)
        try? await Task.sleep(for: delay)
    }

    /// A DER PKCS#10 request for `name` (CN and the one SAN), signed by `key`.
    static func csr(name: String, key: P256.Signing.PrivateKey) throws(ACMEError) -> [UInt8] {
        do {
            let privateKey = Certificate.PrivateKey(key)
            let extensions = try Certificate.Extensions { SubjectAlternativeNames([.dnsName(name)]) }
            let request = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName(name) }, privateKey: privateKey,
                attributes: CertificateSigningRequest.Attributes([try .init(ExtensionRequest(extensions: extensions))]),
                signatureAlgorithm: .ecdsaWithSHA256)
            return try request.serializeAsPEM().derBytes
        } catch {
            throw .key("cannot build the CSR for \(name): \(error)")
        }
    }
}
