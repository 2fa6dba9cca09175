// swift-tools-version:6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "runnel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "runnel", targets: ["runnel"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "LogStorage", targets: ["LogStorage"]),
        .library(name: "GroupCoordinator", targets: ["GroupCoordinator"]),
        .library(name: "RunnelBroker", targets: ["RunnelBroker"]),
        .library(name: "Raft", targets: ["Raft"]),
        .library(name: "Replication", targets: ["Replication"]),
        .library(name: "RunnelClient", targets: ["RunnelClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", path: "Sources/CSnappy", pkgConfig: "snappy",
                       providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CXXHash", path: "Sources/CXXHash", pkgConfig: "libxxhash",
                       providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(name: "CISAL", path: "Sources/CISAL", pkgConfig: "libisal",
                       providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CLinuxShims", path: "Sources/CLinuxShims"),
        .target(
            name: "KafkaProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                "CZlib", "CLZ4", "CZstd", "CSnappy", "CISAL", "CXXHash",
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "KafkaSASL",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "LogStorage",
            dependencies: [
                "KafkaProtocol", "CLinuxShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GroupCoordinator",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Raft",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Replication",
            swiftSettings: strictSettings
        ),
        .target(
            name: "RunnelBroker",
            dependencies: [
                "KafkaProtocol", "LogStorage", "GroupCoordinator", "Raft", "Replication", "KafkaSASL", "CLinuxShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RunnelClient",
            dependencies: [
                "KafkaProtocol", "KafkaSASL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            // No `-enforce-exclusivity=unchecked` here although callgrind shows the dynamic
            // exclusivity checks in the producer's per-record path (docs/benchmarks.md): it is an
            // unsafe flag, and SwiftPM refuses a package with unsafe flags as a versioned
            // dependency, which is how services embed RunnelClient.
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "runnel",
            dependencies: [
                "RunnelBroker", "KafkaProtocol", "LogStorage", "RunnelClient",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KafkaProtocolTests",
            dependencies: ["KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LogStorageTests",
            dependencies: [
                "LogStorage", "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GroupCoordinatorTests",
            dependencies: ["GroupCoordinator", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ReplicationTests",
            dependencies: ["Replication"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RunnelClientTests",
            dependencies: [
                "RunnelClient", "KafkaProtocol", "RunnelBroker",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KafkaSASLTests",
            dependencies: ["KafkaSASL"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RaftTests",
            dependencies: ["Raft"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RunnelBrokerTests",
            dependencies: [
                "RunnelBroker", "KafkaProtocol", "LogStorage", "Raft", "Replication",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
