// swift-tools-version:6.1
import PackageDescription

// Dependency direction (never the other way):
//   node-guardian -> NodeGuardian -> {DAGIRouter, Swapper, Sync} -> MeshHTTP -> MeshCore
//                                                                 -> MeshStore -> MeshCore
//   dagi -> {MeshViews, MeshHTTP, MeshStore} (never the daemon)
// MeshStore owns the SQLite schema and the only SQL in the project; MeshCore holds plain shared
// values (config decoding, durations/sizes, binary coding, zlib); MeshHTTP the servers' shared
// HTTP layer (errors, request context, signing, the JSON client).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "dagi-mesh",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "node-guardian", targets: ["node-guardian"]),
        .executable(name: "dagi", targets: ["dagi"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "CSpawn", path: "Sources/CSpawn"),
        // Plain values every module shares: binary coding, sizes, durations, names, config
        // decoding with line numbers, zlib. No networking, so the store links none.
        .target(
            name: "MeshCore",
            dependencies: ["CZlib", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeshStore",
            dependencies: [
                "MeshCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP layer the servers share: the request context, errors in OpenAI's shape,
        // request ids, mesh signing, the JSON client, metric naming.
        .target(
            name: "MeshHTTP",
            dependencies: [
                "MeshCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // What `dagi` and the guardian's API both show: the status report and its renderings.
        .target(
            name: "MeshViews",
            dependencies: ["MeshCore", "MeshStore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Sync",
            dependencies: [
                "MeshStore", "MeshCore", "MeshHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Swapper",
            dependencies: [
                "MeshStore", "MeshCore", "MeshHTTP", "CSpawn",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DAGIRouter",
            dependencies: [
                "MeshStore", "MeshCore", "MeshHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "NodeGuardian",
            dependencies: [
                "MeshStore", "MeshCore", "MeshHTTP", "MeshViews", "Sync", "Swapper", "DAGIRouter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The dashboard's page, script and styles, compiled into the binary (it works offline).
            resources: [.embedInCode("Dashboard/index.html"), .embedInCode("Dashboard/app.js"), .embedInCode("Dashboard/app.css")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "node-guardian",
            dependencies: [
                "NodeGuardian", "MeshCore", "MeshHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "dagi",
            dependencies: [
                "MeshCore", "MeshHTTP", "MeshStore", "MeshViews",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Workloads for scripts/bench-*: seeding stores, timing commands, driving sync.
        .executableTarget(
            name: "dagi-bench",
            dependencies: [
                "MeshStore", "MeshCore", "MeshHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/dagi-bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MeshCoreTests", dependencies: ["MeshCore"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshHTTPTests", dependencies: ["MeshHTTP", "MeshCore"], swiftSettings: swiftSettings),
        .testTarget(name: "DAGIRouterTests", dependencies: ["DAGIRouter", "MeshStore", "MeshCore", "MeshHTTP"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshViewsTests", dependencies: ["MeshViews", "MeshStore"], swiftSettings: swiftSettings),
        .testTarget(name: "MeshStoreTests", dependencies: ["MeshStore"], swiftSettings: swiftSettings),
        .testTarget(name: "SwapperUnitTests", dependencies: ["Swapper", "MeshCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SyncTests",
            dependencies: [
                "Sync", "MeshStore", "MeshCore", "MeshHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NodeGuardianTests",
            dependencies: ["NodeGuardian", "MeshStore", "MeshCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "MeshStore", "MeshCore", "MeshHTTP", "Sync",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
