import ArgumentParser

@main
struct Nscore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nscore",
        abstract: "The core of a small-cluster application platform.",
        discussion: """
            One executable, one subcommand per service. Every listener binds
            loopback unless told otherwise. Flags override environment variables.
            """,
        subcommands: [AgentCommand.self, TaskCommand.self, ModuleCommand.self, SecretCommand.self, EdgeCommand.self, RESPProxyCommand.self, LDAPProxyCommand.self, LDAPCommand.self, TCPProxyCommand.self, RedisCommand.self]
    )
}
