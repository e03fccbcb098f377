// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for nscore's parsers. Its own package: a fuzzer has no
// main() and is built with -sanitize=fuzzer, which `make test` must not do.
//   make fuzz-resp            (10 minutes by default; FUZZ_SECONDS=N to change)
//   make fuzz-json            (same, for the JSON parser)
//   make fuzz-request         (the resp-proxy's client request decoder)
//   make fuzz-schema          (JSON Schema: compile and validate)
//   make fuzz-stepcommand     (the agent's command-pipe parser)
//   make fuzz-ldap            (the LDAP proxy's LDAPMessage framer)
//   make fuzz-sealed          (sealed:v1: values and base64)
//   make fuzz-edge            (the edge's IP ranges, routes, PEM certificates)
let package = Package(
    name: "nscore-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "nscore", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(
            name: "RESPTokenFuzzer",
            dependencies: [
                "FuzzDriver",
                .product(name: "RESP", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "RESPRequestFuzzer",
            dependencies: [
                "FuzzDriver",
                .product(name: "RESP", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "JSONFuzzer",
            dependencies: ["FuzzDriver", .product(name: "JSON", package: "nscore")]
        ),
        .executableTarget(
            name: "SchemaFuzzer",
            dependencies: ["FuzzDriver", .product(name: "JSON", package: "nscore"), .product(name: "JSONSchema", package: "nscore")]
        ),
        .executableTarget(
            name: "LDAPMessageFuzzer",
            dependencies: [
                "FuzzDriver",
                .product(name: "LDAPProxy", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "StepCommandFuzzer",
            dependencies: ["FuzzDriver", .product(name: "Agents", package: "nscore")]
        ),
        .executableTarget(
            name: "SealedValueFuzzer",
            dependencies: ["FuzzDriver", .product(name: "Secrets", package: "nscore")]
        ),
        .executableTarget(
            name: "EdgeInputFuzzer",
            dependencies: ["FuzzDriver", .product(name: "Edge", package: "nscore")]
        ),
        .executableTarget(
            name: "HTTPWireFuzzer",
            dependencies: ["FuzzDriver", .product(name: "Edge", package: "nscore"), .product(name: "NIOCore", package: "swift-nio")]
        ),
    ]
)
