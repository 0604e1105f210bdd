// swift-tools-version:6.2
// Clowder Metrics: agent (clowder-agent), ingest endpoint (clowder-ingest) and sinks (clowder-sink).
// The agent's executable links no server framework and no database driver beyond SQLite.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

/// `CLOWDER_AGENT_ONLY=1 swift build|test` leaves out the centre (ingest, sinks, broker) and
/// their heavy dependencies (Hummingbird, postgres-nio): a quick loop while working on the agent.
let agentOnly = Context.environment["CLOWDER_AGENT_ONLY"] == "1"

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    // swift-crypto 4 imports FoundationEssentials, not Foundation (3.x linked Foundation and ICU into the agent).
    .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    // No traits: the default JSON trait and YAML (through Yams) import full Foundation. The agent reads its
    // settings file itself (Agent/Config/SettingsFile.swift) and gives the values to EnvironmentVariablesProvider.
    .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: []),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-http-structured-headers", from: "1.7.0"),
]
if !agentOnly {
    dependencies += [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ]
}

let package = Package(
    name: "clowder-metrics",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "clowder-agent", targets: ["clowder-agent"]),
        .executable(name: "clowder-ingest", targets: ["clowder-ingest"]),
        .executable(name: "clowder-sink", targets: ["clowder-sink"]),
    ],
    dependencies: dependencies,
    targets: [
        // MARK: C libraries from Debian: module map + shim header only.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CRabbitMQ", pkgConfig: "librabbitmq", providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // MARK: Shared libraries
        .target(name: "Parsers", dependencies: ["CPCRE2"], swiftSettings: swiftSettings),
        .target(
            name: "MetricsModel",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "Storage", dependencies: ["CSQLite"], swiftSettings: swiftSettings),
        .target(
            name: "Broker",
            dependencies: ["CRabbitMQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),

        // MARK: The agent
        .target(
            name: "Agent",
            dependencies: [
                "Parsers", "MetricsModel", "Storage", "CCurl", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "clowder-agent",
            dependencies: ["Agent", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // MARK: The centre: sinks and ingest
        .target(
            name: "Sinks",
            dependencies: [
                "MetricsModel", "Storage", "Broker", "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "clowder-sink",
            dependencies: ["Sinks", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Ingest",
            dependencies: [
                "MetricsModel", "Storage", "Broker", "Sinks", "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("openapi.yaml")],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .executableTarget(
            name: "clowder-ingest",
            dependencies: ["Ingest", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests (Swift Testing; real servers are started by .ci/run or by the test itself)
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ParsersTests", dependencies: ["Parsers"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MetricsModelTests",
            dependencies: [
                "MetricsModel", "TestSupport", .product(name: "RawStructuredFieldValues", package: "swift-http-structured-headers"),
            ], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentTests", dependencies: ["Agent", "Parsers", "MetricsModel", "TestSupport"],
            exclude: ["Delivery/Support/receiver.py"], swiftSettings: swiftSettings),
        .testTarget(name: "SinksTests", dependencies: ["Sinks", "Broker", "MetricsModel", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IngestTests",
            dependencies: [
                "Ingest", "Broker", "MetricsModel", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["Support/fault_proxy.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "DeployTests", dependencies: ["MetricsModel", "Agent", "TestSupport"], swiftSettings: swiftSettings),
    ]
)


if agentOnly {
    let central: Set<String> = ["Broker", "Sinks", "clowder-sink", "Ingest", "clowder-ingest", "SinksTests", "IngestTests"]
    package.targets.removeAll { central.contains($0.name) }
    package.products.removeAll { ["clowder-ingest", "clowder-sink"].contains($0.name) }
}
