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
        .target(name: "Archive", dependencies: ["OCI", "CLibArchive", "CZlib", "CCrypto"]),
        .target(name: "Store", dependencies: ["OCI", "Archive"]),
        .target(name: "Dockerfile", dependencies: ["OCI"]),
        .target(name: "Build", dependencies: ["OCI", "Archive", "Store", "Dockerfile"]),
        .target(name: "Registry", dependencies: [
            "OCI", "Archive", "Store",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            // Only to tell "connection refused" and DNS failures apart from dropped connections.
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "AWS", dependencies: [
            "OCI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ]),
        .target(name: "ConfigFile", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "Policy", dependencies: ["OCI", "Archive", "Store", "ConfigFile", .product(name: "Yams", package: "Yams")]),
        .target(name: "Deploy"),
        .target(name: "Project", dependencies: ["ConfigFile", .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "imagekit", dependencies: [
            "OCI", "Archive", "Store", "Dockerfile", "Build", "Registry", "AWS", "Policy", "Deploy", "Project",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),

        // Shared test helpers (process runner, temporary directories, a local docker-registry, moto_server);
        // every test target uses them, and only test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "OCI", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Archive", "OCI", "TestSupport"]),
        .testTarget(name: "BuildTests", dependencies: ["Build", "TestSupport"]),
        .testTarget(name: "DockerfileTests", dependencies: ["Dockerfile", "TestSupport"], resources: [.copy("Corpus")]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "Store", "OCI", "CZlib", "TestSupport"]),
        .testTarget(name: "AWSTests", dependencies: ["AWS", "OCI", "TestSupport"], resources: [.copy("Vectors")]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "Archive", "Store", "OCI", "imagekit", "TestSupport"], resources: [.copy("Resources")]),
        .testTarget(name: "DeployTests", dependencies: ["Deploy", "TestSupport"]),
        .testTarget(name: "ProjectTests", dependencies: ["Project"]),
        .testTarget(name: "ConfigFileTests", dependencies: ["ConfigFile", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "EndToEndTests", dependencies: ["imagekit", "TestSupport"]),
    ]
)
