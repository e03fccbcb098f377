import ArgumentParser
import FoundationEssentials
import LDAPProxy
import Net

/// `nscore ldap`: LDAP tools for operators.
struct LDAPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldap",
        abstract: "LDAP tools: check a provider before it is added.",
        subcommands: [LDAPCheckCommand.self])
}

/// `nscore ldap check`: connect, bind, root DSE, schema and base DN (libldap).
struct LDAPCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate an LDAP provider: connect, bind, read the root DSE, detect schema and base DN.",
        discussion: """
            Uses libldap. The schema is `ad` when the root DSE says isGlobalCatalogReady: TRUE, \
            else `rfc2307`; the base DN is the first naming context. Exit status 0 when every \
            step passed, 1 with the failing step otherwise.

            Example: nscore ldap check --host 10.5.4.1 --port 636 --tls on \\
                       --bind-dn 'cn=ldapservice,dc=example,dc=org' --bind-password-file /run/secret/pw
            """)

    @Option(help: ArgumentHelp("Provider host.", valueName: "host"))
    var host: String

    @Option(help: ArgumentHelp("Provider port (default 636 with --tls on, else 389).", valueName: "port"))
    var port: Int?

    @Option(help: ArgumentHelp("off, on (LDAPS) or starttls.", valueName: "mode"))
    var tls: String = "off"

    @Option(help: ArgumentHelp("Verify the certificate and host name: on or off.", valueName: "on|off"))
    var tlsVerify: Switch = .on

    @Option(help: ArgumentHelp("CA bundle to verify with (default: the system's).", valueName: "file"))
    var caFile: String?

    @Option(help: ArgumentHelp("DN to bind as (default: anonymous).", valueName: "dn"))
    var bindDN: String?

    @Option(help: ArgumentHelp("File holding the bind password (one line; never on the command line).", valueName: "file"))
    var bindPasswordFile: String?

    @Option(help: ArgumentHelp("Seconds per network step.", valueName: "seconds"))
    var timeout = 5

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard LDAPTLSMode(rawValue: tls) != nil else { throw ValidationError("--tls must be off, on or starttls") }
        if bindDN != nil, bindPasswordFile == nil { throw ValidationError("--bind-dn needs --bind-password-file") }
        if let port, !(1...65535).contains(port) { throw ValidationError("--port \(port) is not a port") }
    }

    func run() throws {
        let mode = LDAPTLSMode(rawValue: tls) ?? .off
        var password = ""
        if let bindPasswordFile {
            do { password = try String(contentsOfFile: bindPasswordFile, encoding: .utf8) } catch {
                StandardError.write("nscore ldap check: cannot read \(bindPasswordFile): \(error)\n")
                throw ExitCode(1)
            }
            while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
        }
        let check = ProviderCheck(host: host, port: port ?? (mode == .on ? 636 : 389), tls: mode, tlsVerify: tlsVerify == .on,
                                  caFile: caFile, bindDN: bindDN ?? "", bindPassword: password, timeoutSeconds: timeout)
        do {
            let report = try check.run()
            StandardOutput.write(json ? report.json + "\n" : report.text)
        } catch {
            StandardError.write("nscore ldap check: \(check.uri): \(error)\n")
            throw ExitCode(1)
        }
    }
}
