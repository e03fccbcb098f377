import ArgumentParser
import Edge
import FoundationEssentials
import JSON
import Net
import NIOPosix
import RESP
#if canImport(Glibc)
import Glibc
#endif

/// `nscore edge`: the daemon (`run`, the default) and its management commands.
struct EdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge",
        abstract: "The edge: TLS termination and HTTP routing (run), and its management commands.",
        discussion: """
            Management commands read JSON on standard input and print JSON, as action steps of the \
            edge module do; invalid input exits 2–7 with [{"field","parameter","value","error"}] on \
            standard output (2 bad field, 3 bad key, 4 key of another certificate, 5 not valid now, \
            6 no host name, 7 untrusted). They change Redis and publish the events the running edge reloads on.

              echo '{"instance":"mail1","url":"http://127.0.0.1:9000","host":"mail.example.org"}' | nscore edge set-route
              jq -n --rawfile c cert.pem --rawfile k key.pem '{certificate:$c,key:$k}' | nscore edge upload-certificate
              echo '{"url":"https://acme-staging-v02.api.letsencrypt.org/directory","email":"admin@example.org"}' | nscore edge set-acme-server
              echo '{"fqdn":"mail.example.org","sync":true}' | nscore edge set-certificate
            """,
        subcommands: [EdgeRunCommand.self, SetRoute.self, GetRoute.self, DeleteRoute.self, ListRoutes.self,
                      UploadCertificate.self, GetCertificate.self, ListCertificates.self, DeleteCertificate.self,
                      SetCertificate.self, SetAcmeServer.self, GetAcmeServer.self],
        defaultSubcommand: EdgeRunCommand.self)
}

/// Options of every management command.
struct EdgeManagementOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The edge's module id (default $MODULE_ID, else $AGENT_ID without module/).", valueName: "id"))
    var moduleID: String?

    @Option(help: ArgumentHelp("This node's id, in certificate-changed events (default $NODE_ID, else 1).", valueName: "n"))
    var nodeID: Int?

    @Option(help: ArgumentHelp("The edge's state directory, for its secret key (get-certificate).", valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("KEY=VALUE file with the REDIS_* variables and MODULE_ID.", valueName: "file"))
    var envFile: String?
}

/// One management command: its operation on ``EdgeManagement``.
protocol EdgeManagementStep: AsyncParsableCommand {
    var options: EdgeManagementOptions { get }
    func perform(_ management: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue
}

extension EdgeManagementStep {
    /// Reads the JSON input, connects to Redis, runs ``perform(_:_:)``, prints its JSON (or the error array and exits 2–7).
    func run() async throws {
        let env = try daemonEnvironment(envFile: options.envFile)
        let (id, settings) = try moduleRedis(explicit: options.moduleID, env: env, clientName: "nscore-edge",
                                             missing: "the edge's module id is needed: --module-id traefik1 (or MODULE_ID)")
        let text = String(decoding: try readStandardInput(limit: 1 << 20), as: UTF8.self)
        let input: JSONValue
        if text.allSatisfy(\.isWhitespace) { input = .object([]) } else {
            do { input = try JSONValue.parse(text) } catch { finish(ManagementError(exitCode: 2, field: "data", value: .null, message: "not JSON: \(error)")) }
        }
        let redis = RedisRoutingClient(settings: settings, group: MultiThreadedEventLoopGroup.singleton, poolSize: 1)
        let node = options.nodeID ?? env["NODE_ID"].flatMap { Int($0) } ?? 1
        let stateDir = options.stateDir ?? env["STATE_DIRECTORY"] ?? "/var/lib/nscore-edge"
        do {
            let management = try await EdgeManagement.connect(redis: redis, edgeID: id, nodeID: node, stateDirectory: stateDir)
            let output = try await perform(management, input)
            await redis.close()
            StandardOutput.write(output.prettySerialized + "\n")
        } catch {
            await redis.close()
            finish(error)
        }
    }

    private func finish(_ error: ManagementError) -> Never {
        if (2...7).contains(error.exitCode) {
            StepPipe.send("set-status validation-failed")
            StandardOutput.write(error.errorArray.serialized + "\n")
        }
        StandardError.write("nscore edge: \(error.field): \(error.message)\n")
        Glibc.exit(error.exitCode)
    }
}

struct SetRoute: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "set-route", abstract: "Add or replace a route (instance, url, host, path, priority, strip_prefix, http2https, lets_encrypt, skip_cert_verify, ip_allowlist).")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.setRoute(input) }
}

struct GetRoute: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "get-route", abstract: "Print a route: {\"instance\"}.")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.getRoute(input) }
}

struct DeleteRoute: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "delete-route", abstract: "Delete a route: {\"instance\"}.")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.deleteRoute(input) }
}

struct ListRoutes: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "list-routes", abstract: "Print every route.")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.listRoutes() }
}

struct UploadCertificate: EdgeManagementStep {
    static let configuration = CommandConfiguration(
        commandName: "upload-certificate",
        abstract: "Store a certificate: {\"certificate\": PEM chain, \"key\": PEM, \"name\"?, \"allow_self_signed\"?}.",
        discussion: "The chain must lead to a system CA (/etc/ssl/certs); --allow-self-signed (or \"allow_self_signed\": true) also accepts one that ends in the upload itself.")
    @OptionGroup var options: EdgeManagementOptions
    @Flag(help: "Accept a chain whose root is in the upload itself (a self-signed certificate or a private CA).")
    var allowSelfSigned = false
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue {
        try await m.uploadCertificate(input, allowSelfSigned: allowSelfSigned)
    }
}

struct GetCertificate: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "get-certificate", abstract: "Print a certificate and its private key: {\"name\"} (needs the edge's --state-dir).")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.getCertificate(input) }
}

struct ListCertificates: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "list-certificates", abstract: "Print every certificate: names, not_after, status (valid, expiring, expired), custom.")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.listCertificates() }
}

struct DeleteCertificate: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "delete-certificate", abstract: "Delete a certificate: {\"name\"}.")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.deleteCertificate(input) }
}

struct SetCertificate: EdgeManagementStep {
    static let configuration = CommandConfiguration(
        commandName: "set-certificate",
        abstract: "Ask the running edge for an ACME certificate: {\"fqdn\", \"sync\"?, \"renew\"?, \"timeout\"?}.",
        discussion: "sync waits for the outcome (exit 1 with the CA's error when it failed); renew obtains a new certificate now.")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.setCertificate(input) }
}

struct SetAcmeServer: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "set-acme-server", abstract: "Set the ACME directory and contact: {\"url\": https URL, \"email\"?}.")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.setAcmeServer(input) }
}

struct GetAcmeServer: EdgeManagementStep {
    static let configuration = CommandConfiguration(commandName: "get-acme-server", abstract: "Print the ACME directory and contact (Let's Encrypt production until set).")
    @OptionGroup var options: EdgeManagementOptions
    func perform(_ m: EdgeManagement<RedisRoutingClient>, _ input: JSONValue) async throws(ManagementError) -> JSONValue { try await m.getAcmeServer() }
}
