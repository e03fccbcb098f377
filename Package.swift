// swift-tools-version:6.0
import PackageDescription

// nscore: the core of a small-cluster application platform.
// Layers point down: nscore (executable) -> services -> protocols -> Net -> C shims.
// See README.md and ../shared/docs/ARCHITECTURE.md.

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Hot-path targets: release builds skip the dynamic exclusivity checks of
// class properties (measured: ~17 % of resp-proxy's CPU at -P 16). Debug
// builds — and so every test run — keep them. `make release` extends this
// to the dependencies' modules too (see RELEASE_FLAGS in the Makefile).
let hotPath: [SwiftSetting] = strict + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "nscore",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "nscore", targets: ["nscore"]),
        .library(name: "Net", targets: ["Net"]),
        .library(name: "TCPProxy", targets: ["TCPProxy"]),
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "JSON", targets: ["JSON"]),
        .library(name: "JSONSchema", targets: ["JSONSchema"]),
        .library(name: "Agents", targets: ["Agents"]),
        .library(name: "RESPProxy", targets: ["RESPProxy"]),
        .library(name: "LDAPProxy", targets: ["LDAPProxy"]),
        .library(name: "Secrets", targets: ["Secrets"]),
        .library(name: "Edge", targets: ["Edge"]),
        // Test helpers (servers, clients, checksums), also used by Benchmarks/.
        .library(name: "NetTestSupport", targets: ["NetTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // System-library shims (pkg-config names: libsystemd, libsodium, ldap).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd",
                       providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CLDAP", pkgConfig: "ldap",
                       providers: [.apt(["libldap2-dev"])]),

        // Net: SwiftNIO event loops + what every service shares.
        .target(
            name: "Net",
            dependencies: [
                "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: hotPath
        ),

        // RESP: the Redis protocol: codec, command table, connections, client pool, pub/sub, routing.
        .target(
            name: "RESP",
            dependencies: [
                "Net",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: hotPath
        ),

        // JSON: an order-keeping JSON value, parser and serializer (task data, schemas).
        .target(name: "JSON", swiftSettings: strict),

        // JSONSchema: a draft 2020-12 / draft-07 validator (action input and output schemas).
        .target(name: "JSONSchema", dependencies: ["JSON"], swiftSettings: strict),

        // posix_spawn with a descriptor map and process group, pidfds (for the agents' steps).
        .target(name: "CSpawn"),

        // Agents: the node/module agent daemon and the task client (AGENT-PROTOCOL.md).
        .target(
            name: "Agents",
            dependencies: [
                "Net", "RESP", "JSON", "JSONSchema", "CSpawn", "Secrets",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // Services.
        .target(
            name: "RESPProxy",
            dependencies: [
                "Net", "RESP", "JSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "LDAPProxy",
            dependencies: [
                "Net", "RESP", "JSON", "CLDAP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: hotPath
        ),
        .target(
            name: "TCPProxy",
            dependencies: [
                "Net",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // Edge: TLS termination (certificate store, SNI), HTTP/1.1 and HTTP/2 routing, ACME.
        .target(
            name: "Edge",
            dependencies: [
                "Net", "RESP", "Secrets", "JSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: hotPath
        ),

        // libsodium sealed boxes: module secrets, the edge's private keys.
        .target(name: "Secrets", dependencies: ["CSodium"], swiftSettings: strict),

        // The executable: argument parsing and service start-up only.
        .executableTarget(
            name: "nscore",
            dependencies: [
                "Net", "TCPProxy", "RESP", "RESPProxy", "LDAPProxy", "Agents", "JSON", "Secrets", "Edge",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // Tests. Integration suites start real servers on free loopback ports.
        .target(
            name: "CTestSupport",
            path: "Tests/CTestSupport"
        ),
        .target(
            name: "NetTestSupport",
            dependencies: [
                "Net", "CTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/NetTestSupport"
        ),
        .testTarget(
            name: "NetTests",
            dependencies: [
                "Net", "NetTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TCPProxyTests",
            dependencies: [
                "TCPProxy", "Net", "NetTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RESPTests",
            dependencies: ["RESP", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "RESPIntegrationTests",
            dependencies: ["RESP", "NetTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "JSONTests",
            dependencies: ["JSON"]
        ),
        .testTarget(
            name: "AgentsTests",
            dependencies: ["Agents", "JSON", "NetTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "LDAPProxyTests",
            dependencies: ["LDAPProxy", "Net", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "JSONSchemaTests",
            dependencies: ["JSONSchema", "JSON"],
            exclude: ["Suite"]
        ),
        .testTarget(
            name: "EdgeTests",
            dependencies: ["Edge", "Secrets", "RESP", "Net", "NetTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        .testTarget(
            name: "SecretsTests",
            dependencies: ["Secrets", "NetTestSupport"]
        ),
        .testTarget(
            name: "SystemLibraryTests",
            dependencies: ["CSystemd", "CSodium", "CLDAP"]
        ),
        .testTarget(
            name: "nscoreTests",
            dependencies: ["NetTestSupport", "RESP", "JSON", "LDAPProxy", "CLDAP", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
