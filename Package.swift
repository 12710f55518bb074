// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "portcullis",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "portcullis", targets: ["portcullis"]),
        .library(name: "PortcullisCore", targets: ["PortcullisCore"]),
        .library(name: "PortcullisLinux", targets: ["PortcullisLinux"]),
        .library(name: "PortcullisScan", targets: ["PortcullisScan"]),
        .library(name: "PortcullisStore", targets: ["PortcullisStore"]),
        .library(name: "PortcullisJobs", targets: ["PortcullisJobs"]),
        .library(name: "PortcullisServer", targets: ["PortcullisServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The exporter's HTTP(S) server: SwiftNIO's HTTP/1.1 codec and NIOSSL (BoringSSL).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // bcrypt for basic_auth_users: only its HummingbirdBcrypt product (C bcrypt, no web framework) is linked.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
    ],
    targets: [
        // Pure logic: models, parsers, knowledge, filters, renderers. No I/O.
        // YAML (policy, web configuration) through libyaml's event parser.
        .target(name: "PortcullisCore", dependencies: ["CYAML"], swiftSettings: strictSettings),
        // Debian's libyaml (libyaml-dev), parsing from memory only: no I/O.
        // Its static archive is what the static release build links.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // The only target that talks to the kernel: netlink sock_diag, procfs.
        .target(name: "PortcullisLinux", dependencies: ["PortcullisCore", "CPortcullisSys"], swiftSettings: strictSettings),
        // System calls Swift cannot import (variadic syscall(2), GNU extensions): pidfd, raw reads, epoll, pipe2.
        // Called only through PortcullisLinux's Syscalls*.swift.
        .target(name: "CPortcullisSys"),
        // The network scanner: TCP connect and UDP probes, service detection.
        .target(name: "PortcullisScan", dependencies: ["PortcullisCore", "PortcullisLinux"], swiftSettings: strictSettings),
        // History: snapshots, baselines and watch events in SQLite, through its C API; file checks through PortcullisLinux's Sys.
        .target(name: "PortcullisStore", dependencies: ["PortcullisCore", "PortcullisLinux", "CSQLite"], swiftSettings: strictSettings),
        // The system SQLite (libsqlite3-dev: the header, and the libsqlite3.a a static build links).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Every job (inventory, audit, overview, hidden, snapshot and diff,
        // watch, scan) as one library entry point: typed options in, a typed
        // report with its diagnostics out. The CLI and the server call these.
        .target(
            name: "PortcullisJobs", dependencies: ["PortcullisCore", "PortcullisLinux", "PortcullisScan", "PortcullisStore"],
            swiftSettings: strictSettings),
        // `portcullis serve`: the Prometheus exporter, the JSON API and the
        // dashboard over HTTP(S), calling the same jobs as the CLI.
        .target(
            name: "PortcullisServer",
            dependencies: [
                "PortcullisCore", "PortcullisLinux", "PortcullisStore", "PortcullisJobs",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings),
        .executableTarget(
            name: "portcullis",
            dependencies: [
                "PortcullisCore", "PortcullisLinux", "PortcullisScan", "PortcullisStore", "PortcullisJobs", "PortcullisServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings,
            plugins: ["BuildRevision"]
        ),
        // The git revision `portcullis --version` prints (buildRevision), from
        // git, a source tarball's REVISION file, or "unknown revision".
        .plugin(name: "BuildRevision", capability: .buildTool()),
        // Tests find their Fixtures/ and Snapshots/ beside their sources (#filePath).
        // Sockets and free ports for the tests of several targets; not shipped.
        .target(name: "PortcullisTestSupport", dependencies: ["PortcullisCore"], path: "Tests/PortcullisTestSupport",
                swiftSettings: strictSettings),
        .testTarget(
            name: "PortcullisCoreTests", dependencies: ["PortcullisCore", "PortcullisTestSupport"],
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
            name: "PortcullisStoreTests", dependencies: ["PortcullisCore", "PortcullisLinux", "PortcullisStore", "CSQLite"],
            exclude: ["Fixtures"], swiftSettings: strictSettings),
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
