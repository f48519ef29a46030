// swift-tools-version: 6.1
import PackageDescription

// One target per noun; data flows Dockerfile -> Build -> Store -> Policy / Registry.
// Nothing reaches "up": OCI knows no store, the store knows no registry, the CLI only wires.
let package = Package(
    name: "imagekit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "imagekit", targets: ["imagekit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries (Debian: libarchive-dev, zlib1g-dev, libssl-dev).
        .systemLibrary(name: "CLibArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        .target(name: "OCI", dependencies: ["CCrypto"]),
        .target(name: "Store", dependencies: ["OCI"]),
        .target(name: "Registry", dependencies: [
            "OCI", "Store", "CZlib",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            // Only to tell "connection refused" and DNS failures apart from dropped connections.
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "imagekit", dependencies: [
            "OCI", "Store", "Registry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "OCI"]),
        // Shared test helpers (a local docker-registry, temporary directories); used only by test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "Store", "OCI", "CZlib", "TestSupport"]),
    ]
)
