// swift-tools-version: 6.1
// Fuzz targets for every parser of untrusted input: one libFuzzer executable
// per parser. Not part of the main package: `swift build` and `swift test`
// there never build these. Built and run by bench/fuzz.sh, with
//   swift build -c release --package-path Fuzz --scratch-path .build-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

// A path dependency's identity is its directory's name, which differs
// between clones and worktrees: name it from where this manifest lives.
let parentName = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "portcullis")

func core(_ extra: [Target.Dependency] = []) -> [Target.Dependency] {
    ["FuzzMain", .product(name: "PortcullisCore", package: parentName)] + extra
}

let targets: [(name: String, dependencies: [Target.Dependency])] = [
    ("fuzz-sockdiag", core()),
    ("fuzz-procnet", core()),
    ("fuzz-procpid", core()),
    ("fuzz-etc", core()),
    ("fuzz-nft", core()),
    ("fuzz-policy", core()),
    ("fuzz-dns", core()),
    ("fuzz-x509", core()),
    ("fuzz-tls", core()),
    ("fuzz-banner", core()),
    ("fuzz-targets", core()),
    ("fuzz-journal", core()),
    (
        "fuzz-snapshot",
        core([.product(name: "PortcullisStore", package: parentName), "FuzzSQLite"])
    ),
]

let package = Package(
    name: "portcullis-fuzz",
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        // The executables' entry points (see FuzzMain.c).
        .target(name: "FuzzMain"),
        // SQLite's C API, for fuzz-snapshot to write rows of any kind.
        .systemLibrary(name: "FuzzSQLite", path: "Sources/FuzzSQLite"),
    ]
        + targets.map { .executableTarget(name: $0.name, dependencies: $0.dependencies, path: "Sources/\($0.name)") }
)
