// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks (ordo-one/benchmark: time and allocations) for nscore's hot
// paths. Its own package so `make test` never builds benchmark-only
// dependencies. Run: cd Benchmarks && swift package benchmark
// Load benchmarks against the anchors are the *.sh scripts beside this file.
let package = Package(
    name: "nscore-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "nscore", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "RelayBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Net", package: "nscore"),
                .product(name: "NetTestSupport", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Benchmarks/RelayBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RESPCodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RESP", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/RESPCodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Load generator for resp-client.sh (not an ordo-one benchmark).
        .executableTarget(
            name: "RESPClientLoad",
            dependencies: [
                .product(name: "RESP", package: "nscore"),
                .product(name: "Net", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/RESPClientLoad"
        ),
        // Load generator for agent.sh.
        .executableTarget(
            name: "AgentLoad",
            dependencies: [
                .product(name: "RESP", package: "nscore"),
                .product(name: "Net", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/AgentLoad"
        ),
        // Load generator for ldap-proxy.sh (our BER codec as the client).
        .executableTarget(
            name: "LDAPLoad",
            dependencies: [
                .product(name: "LDAPProxy", package: "nscore"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/LDAPLoad"
        ),
    ]
)
