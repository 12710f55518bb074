// swift-tools-version: 6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "portcullis",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "portcullis", targets: ["portcullis"]),
        .library(name: "PortcullisCore", targets: ["PortcullisCore"]),
        .library(name: "PortcullisLinux", targets: ["PortcullisLinux"]),
        .library(name: "PortcullisScan", targets: ["PortcullisScan"]),
        .library(name: "PortcullisStore", targets: ["PortcullisStore"]),
        .library(name: "PortcullisJobs", targets: ["PortcullisJobs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Pure logic: models, parsers, knowledge, filters, renderers. No I/O.
        .target(
            name: "PortcullisCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings),
        // The only target that talks to the kernel: netlink sock_diag, procfs.
        .target(name: "PortcullisLinux", dependencies: ["PortcullisCore", "CPortcullisSys"], swiftSettings: strictSettings),
        // System calls Swift cannot import (variadic syscall(2), GNU extensions): pidfd, raw reads, epoll, pipe2.
        // Called only through PortcullisLinux's Syscalls*.swift.
        .target(name: "CPortcullisSys"),
        // The network scanner: TCP connect and UDP probes, service detection.
        .target(name: "PortcullisScan", dependencies: ["PortcullisCore", "PortcullisLinux"], swiftSettings: strictSettings),
        // History: snapshots, baselines and watch events in SQLite (GRDB); file checks through PortcullisLinux's Sys.
        .target(
            name: "PortcullisStore",
            dependencies: [
                "PortcullisCore", "PortcullisLinux", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings),
        // Every job (inventory, audit, overview, hidden, snapshot and diff,
        // watch, scan) as one library entry point: typed options in, a typed
        // report with its diagnostics out. The CLI and the server call these.
        .target(
            name: "PortcullisJobs", dependencies: ["PortcullisCore", "PortcullisLinux", "PortcullisScan", "PortcullisStore"],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "portcullis",
            dependencies: [
                "PortcullisCore", "PortcullisLinux", "PortcullisScan", "PortcullisStore", "PortcullisJobs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Tests find their Fixtures/ and Snapshots/ beside their sources (#filePath).
        // Sockets and free ports for the tests of several targets; not shipped.
        .target(name: "PortcullisTestSupport", dependencies: ["PortcullisCore"], path: "Tests/PortcullisTestSupport",
                swiftSettings: strictSettings),
        .testTarget(
            name: "PortcullisCoreTests", dependencies: ["PortcullisCore"],
            exclude: ["Fixtures", "Snapshots"], swiftSettings: strictSettings),
        .testTarget(
            name: "PortcullisLinuxTests", dependencies: ["PortcullisCore", "PortcullisLinux", "PortcullisTestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "PortcullisScanTests", dependencies: ["PortcullisCore", "PortcullisLinux", "PortcullisScan", "PortcullisTestSupport"],
            exclude: ["Fixtures"], swiftSettings: strictSettings),
        // The README's library example, compiled with the package so it cannot rot.
        .executableTarget(
            name: "portcullis-example-exposed", dependencies: ["PortcullisCore", "PortcullisJobs"],
            path: "Examples/exposed-listeners", swiftSettings: strictSettings),
        .testTarget(
            name: "PortcullisStoreTests", dependencies: ["PortcullisCore", "PortcullisLinux", "PortcullisStore"],
            swiftSettings: strictSettings),
        // Writes snapshots until killed: the crash-safety test's victim.
        .executableTarget(
            name: "portcullis-crash-writer", dependencies: ["PortcullisCore", "PortcullisStore"],
            path: "Tests/StoreCrashWriter", swiftSettings: strictSettings),
        .testTarget(
            name: "PortcullisCLITests", dependencies: ["PortcullisCore", "PortcullisLinux", "PortcullisStore", "PortcullisJobs", "PortcullisTestSupport"],
            exclude: ["Fixtures"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
