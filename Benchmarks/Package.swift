// swift-tools-version:6.1
// Runnel's benchmarks: a separate package so that the root package never builds or resolves the
// benchmark dependencies. Run from this directory, e.g.
//   swift package --scratch-path ../.build-bench benchmark --target CRC32CBenchmarks
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its directory, which differs between checkouts
// (e.g. "main" here, something else in CI), so derive it instead of hard-coding it.
let rootPackage = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

/// A package-benchmark executable in `Benchmarks/<name>`, with the Benchmark library and plugin.
func benchmarkTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.product(name: "Benchmark", package: "benchmark")] + dependencies,
        path: "Benchmarks/\(name)",
        swiftSettings: [.swiftLanguageMode(.v6)],
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let package = Package(
    name: "runnel-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.29.0", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
    ],
    targets: [
        benchmarkTarget("CRC32CBenchmarks", [
            .product(name: "KafkaProtocol", package: rootPackage),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        benchmarkTarget("ProtocolBenchmarks", [
            .product(name: "KafkaProtocol", package: rootPackage),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        benchmarkTarget("LogStorageBenchmarks", [
            .product(name: "KafkaProtocol", package: rootPackage),
            .product(name: "LogStorage", package: rootPackage),
            .product(name: "RunnelBroker", package: rootPackage),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
    ]
)
