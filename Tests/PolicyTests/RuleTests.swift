import Foundation
import OCI
import TestSupport
import Testing

@testable import Policy

/// An image that breaks exactly one rule of policies/default.yaml.
struct Breakage: Sendable, CustomTestStringConvertible {
    let rule: String
    let severity: Severity
    let message: String
    var extra: [Item] = []
    /// Rules that necessarily fail with it (no USER also means not the expected user).
    var alsoFails: [String] = []
    var configure: @Sendable (inout ContainerConfig) -> Void = { _ in }
    var testDescription: String { "\(rule): \(message)" }
}

let breakages: [Breakage] = [
    Breakage(rule: "IK003", severity: .error, message: "no USER", alsoFails: ["IK004"]) { $0.user = nil },
    Breakage(rule: "IK003", severity: .error, message: "is root (UID 0)", alsoFails: ["IK004"]) { $0.user = "root" },
    Breakage(rule: "IK004", severity: .error, message: "is UID 1001, expected UID 1000") { $0.user = "1001" },
    Breakage(rule: "IK004", severity: .error, message: "not in the image's /etc/passwd", alsoFails: ["IK003", "IK007"])
    { $0.user = "streamlit" },
    Breakage(rule: "IK005", severity: .error, message: "no HEALTHCHECK") { $0.healthcheck = nil },
    Breakage(rule: "IK005", severity: .error, message: "HEALTHCHECK NONE") {
        $0.healthcheck = Healthcheck(test: ["NONE"])
    },
    Breakage(rule: "IK006", severity: .error, message: "expected /_stcore/health") {
        $0.healthcheck = Healthcheck(test: ["CMD", "curl", "-f", "http://localhost:8501/healthz"])
    },
    Breakage(rule: "IK006", severity: .error, message: "port 9000, which the image does not expose") {
        $0.healthcheck = Healthcheck(test: ["CMD-SHELL", "curl -f http://127.0.0.1:9000/_stcore/health"])
    },
    Breakage(rule: "IK007", severity: .error, message: "`wget`, which the HEALTHCHECK runs, is not in the image") {
        $0.healthcheck = Healthcheck(test: ["CMD-SHELL", "wget -qO- http://localhost:8501/_stcore/health || exit 1"])
    },
    Breakage(
        rule: "IK007", severity: .error, message: "USER 1000 cannot execute it",
        extra: [.dir("usr"), .dir("usr/bin"), .file("usr/bin/curl", "#!ELF curl", mode: 0o750)]),
    Breakage(rule: "IK008", severity: .error, message: "not exposed: 8501/tcp", alsoFails: ["IK006"]) {
        $0.exposedPorts = ["8080/tcp": .object([:])]
    },
    Breakage(rule: "IK009", severity: .error, message: "forbidden port exposed: 22/tcp") {
        $0.exposedPorts = ["8501/tcp": .object([:]), "22/tcp": .object([:])]
    },
    Breakage(rule: "IK010", severity: .error, message: "an AWS access key id (AKIA…)") {
        $0.env?.append("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE")
    },
    Breakage(rule: "IK010", severity: .error, message: "an AWS secret access key") {
        $0.env?.append("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    },
    Breakage(rule: "IK010", severity: .error, message: "a variable named like a secret") {
        $0.env?.append("OPENAI_API_KEY=sk-live-1234")
    },
    Breakage(rule: "IK010", severity: .error, message: "LABEL deploy.key holds a private key") {
        $0.labels?["deploy.key"] =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    },
    Breakage(
        rule: "IK011", severity: .error, message: "/usr/local/bin/escalate",
        extra: [
            .dir("usr"), .dir("usr/local"), .dir("usr/local/bin"),
            .file("usr/local/bin/escalate", "#!ELF", mode: 0o4755),
        ]),
    Breakage(
        rule: "IK012", severity: .error, message: "/app/uploads",
        extra: [.dir("app", uid: 1000, gid: 1000), .dir("app/uploads", mode: 0o777, uid: 1000, gid: 1000)]),
    Breakage(
        rule: "IK013", severity: .error, message: "/app is owned by UID 0, expected 1000",
        extra: [.dir("app", uid: 0, gid: 0)]),
    Breakage(
        rule: "IK013", severity: .error, message: "/opt/venv/bin/python does not exist",
        extra: [.dir("opt"), .dir("opt/venv"), .whiteout("opt/venv/bin")]),
    Breakage(rule: "IK014", severity: .warning, message: "the base image is not recorded") { $0.labels = [:] },
    Breakage(rule: "IK015", severity: .error, message: "WORKDIR is '/', expected '/app'") { $0.workingDir = "/" },
]

@Suite struct RuleTests {
    @Test func theCleanDashboardPasses() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard()
        let report = try await factory.verify("dashboard:ok", policy: try loadPolicy())
        let failed = report.results.filter { $0.status != .passed }.map { "\($0.id): \($0.message)" }
        #expect(failed.isEmpty)
        #expect(report.passed)
        #expect(report.exitCode == 0)
        #expect(
            Set(report.results.map(\.id))
                == Set([
                    "IK001", "IK003", "IK004", "IK005", "IK006", "IK007", "IK008", "IK009", "IK010",
                    "IK011", "IK012", "IK013", "IK014", "IK015",
                ]))
        #expect(report.result("IK007")?.message.contains("/usr/bin/curl is executable by UID 1000") == true)
        #expect(report.result("IK014")?.message.contains("python:3.12-slim") == true)
    }

    @Test(arguments: breakages)
    func eachBreakageFiresItsRule(_ breakage: Breakage) async throws {
        let factory = try ImageFactory()
        try await factory.dashboard("dashboard:broken", extra: breakage.extra, configure: breakage.configure)
        let report = try await factory.verify("dashboard:broken", policy: try loadPolicy())
        let result = try #require(report.result(breakage.rule))
        #expect(result.status == .failed)
        #expect(result.severity == breakage.severity)
        let text = ([result.message] + result.findings.map(\.message)).joined(separator: "\n")
        #expect(text.contains(breakage.message), "\(text)")
        // Exactly the intended rule breaks (a warning-level break leaves the image passing).
        let others = report.results.filter { $0.status == .failed && $0.id != breakage.rule }.map(\.id)
        #expect(others == breakage.alsoFails, "also failed: \(others)")
        #expect(report.passed == (breakage.severity < .error))
        #expect(!result.help.isEmpty)
    }

    @Test func aNamedUserIsResolvedThroughPasswd() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard("dashboard:named") { $0.user = "app" }
        let report = try await factory.verify("dashboard:named", policy: try loadPolicy())
        #expect(report.result("IK003")?.status == .passed)
        #expect(report.result("IK004")?.status == .passed)
        #expect(report.result("IK004")?.message.contains("UID 1000 in /etc/passwd") == true)
    }

    @Test func thePasswdOfTheLastLayerCounts() async throws {
        let factory = try ImageFactory()
        // A later layer makes "app" UID 0: the name now means root.
        try await factory.dashboard(
            "dashboard:rootapp",
            extra: [.dir("etc"), .file("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:0:0::/app:/bin/sh\n")]
        ) {
            $0.user = "app"
        }
        let report = try await factory.verify("dashboard:rootapp", policy: try loadPolicy())
        #expect(report.result("IK003")?.status == .failed)
        #expect(report.result("IK003")?.message.contains("root (UID 0)") == true)
    }

    @Test func healthcheckProgramIsFoundThroughSymlinkedPath() async throws {
        let factory = try ImageFactory()
        // PATH has only /bin, a symlink to usr/bin; curl itself is a relative symlink in /usr/local/bin.
        try await factory.dashboard(
            "dashboard:links",
            extra: [
                .dir("usr"), .dir("usr/local"), .dir("usr/local/bin"),
                .symlink("usr/local/bin/curl", to: "../../bin/curl"),
            ]
        ) {
            $0.env = ["PATH=/usr/local/bin:/bin"]
            $0.healthcheck = Healthcheck(test: ["CMD", "curl", "-f", "http://localhost:8501/_stcore/health"])
        }
        let report = try await factory.verify("dashboard:links", policy: try loadPolicy())
        let result = try #require(report.result("IK007"))
        #expect(result.status == .passed)
        #expect(result.message.contains("/usr/local/bin/curl -> /usr/bin/curl"))
    }

    @Test func deletedSetuidFilesNoLongerCount() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard(
            "dashboard:cleaned",
            extra: [
                .dir("usr"), .dir("usr/local"), .dir("usr/local/bin"),
                .file("usr/local/bin/escalate", "#!ELF", mode: 0o4755),
            ])
        let broken = try await factory.verify("dashboard:cleaned", policy: try loadPolicy())
        #expect(broken.result("IK011")?.status == .failed)
        try await factory.image(
            "dashboard:fixed",
            layers: [
                ImageFactory.base, ImageFactory.app,
                [
                    .dir("usr"), .dir("usr/local"), .dir("usr/local/bin"),
                    .file("usr/local/bin/escalate", "#!ELF", mode: 0o4755),
                ],
                [.dir("usr"), .dir("usr/local"), .whiteout("usr/local/bin")],
            ])
        let fixed = try await factory.verify("dashboard:fixed", policy: try loadPolicy())
        #expect(fixed.result("IK011")?.status == .passed)
    }

    @Test func suppressionNeedsAReasonAndIsReported() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard(
            "dashboard:setuid",
            extra: [
                .dir("usr"), .dir("usr/local"), .dir("usr/local/bin"),
                .file("usr/local/bin/ping", "#!ELF", mode: 0o4755),
            ])
        var policy = try loadPolicy()
        policy.suppressions = [Suppression(rule: "IK011", reason: "ping needs setuid until the probe moves to HTTP")]
        let report = try await factory.verify("dashboard:setuid", policy: policy)
        let result = try #require(report.result("IK011"))
        #expect(result.status == .suppressed)
        #expect(result.suppressionReason == "ping needs setuid until the probe moves to HTTP")
        #expect(result.findings.first?.path == "/usr/local/bin/ping")
        #expect(report.passed)
        #expect(Report.text(report, color: false).contains("suppressed: ping needs setuid"))
    }

    @Test func failOnWarningMakesWarningsFail() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard("dashboard:nobase") { $0.labels = [:] }
        var policy = try loadPolicy()
        #expect(try await factory.verify("dashboard:nobase", policy: policy).passed)
        policy.failOn = .warning
        let report = try await factory.verify("dashboard:nobase", policy: policy)
        #expect(!report.passed)
        #expect(report.result("IK014")?.violation == true)
    }

    @Test func legacyHealthzPolicyWarns() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard("dashboard:legacy") {
            $0.healthcheck = Healthcheck(test: ["CMD-SHELL", "curl -fsS http://localhost:8501/healthz || exit 1"])
        }
        let legacy = try await factory.verify("dashboard:legacy", policy: try loadPolicy(legacyPolicyPath))
        #expect(legacy.result("IK006")?.status == .passed)
        let warning = try #require(legacy.result("IK016"))
        #expect(warning.status == .failed)
        #expect(warning.severity == .warning)
        #expect(warning.message.contains("/healthz is deprecated"))
        #expect(legacy.passed)
        let current = try await factory.verify("dashboard:legacy", policy: try loadPolicy())
        #expect(current.result("IK006")?.status == .failed)
    }

    @Test func sizeRulesExplainWhereTheBytesAre() async throws {
        let factory = try ImageFactory()
        let big = String(repeating: "x", count: 40_000)
        try await factory.image(
            "dashboard:big",
            layers: [
                ImageFactory.base, ImageFactory.app,
                [
                    .dir("app", uid: 1000, gid: 1000), .dir("app/data"), .file("app/data/model.bin", big),
                    .file("app/app.py", "print(1)\n", uid: 1000, gid: 1000),
                ],
                [.dir("app", uid: 1000, gid: 1000), .whiteout("app/data")],
            ], createdBy: ["ADD rootfs.tar /", "COPY . /app", "RUN download-model", "RUN rm -rf /app/data"])
        var policy = try loadPolicy()
        policy.size = SizeLimits(maxUncompressed: 30_000, maxCompressed: 100)
        let report = try await factory.verify("dashboard:big", policy: policy)
        let size = try #require(report.result("IK001"))
        #expect(size.status == .failed)
        #expect(size.message.contains("over the 30.0 kB limit"))
        #expect(size.findings.contains { $0.message.contains("from RUN download-model") })
        #expect(report.result("IK002")?.status == .failed)
        // dive's waste: the deleted directory's 40,000 bytes, plus both versions of app.py.
        let appPy = Int64("import streamlit as st\nst.title('VibeJudge')\n".utf8.count) + Int64("print(1)\n".utf8.count)
        #expect(report.size.wastedBytes == 40_000 + appPy)
        #expect(report.size.largestWaste.first?.path == "/app/data")
        #expect(
            report.size.layers.map(\.createdBy) == [
                "ADD rootfs.tar /", "COPY . /app", "RUN download-model", "RUN rm -rf /app/data",
            ])
        #expect(report.size.layers[2].uncompressedSize > 40_000)
        #expect(report.size.uncompressedBytes == report.size.layers.reduce(0) { $0 + $1.uncompressedSize })
        // The final filesystem no longer has /app/data.
        #expect(!report.size.largestDirectories.contains { $0.path.hasPrefix("/app/data") })
        #expect(report.size.largestDirectories.contains { $0.path == "/usr" && $0.bytes == 30 })
        #expect(report.size.largestDirectories.contains { $0.path == "/usr/bin" && $0.bytes == 30 })
    }

    @Test func opaqueDirectoriesHideLowerContents() async throws {
        let factory = try ImageFactory()
        try await factory.image(
            "dashboard:opaque",
            layers: [
                ImageFactory.base, ImageFactory.app,
                [.dir("usr"), .dir("usr/bin"), .opaque("usr/bin"), .file("usr/bin/curl", "#!ELF curl2", mode: 0o755)],
            ])
        let subject = try await ImageLocator.load("dashboard:opaque", storeRoot: factory.storeRoot)
        let index = try LayerScanner.scan(subject)
        #expect(index.node(at: "/usr/bin/curl")?.size == Int64("#!ELF curl2".utf8.count))
        #expect(index.node(at: "/usr/bin/passwd") == nil)
        #expect(index.node(at: "/usr/bin/sh") == nil)
        #expect(index.node(at: "/etc/passwd") != nil)
    }

    @Test func secondRunReadsTheFileListCache() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard()
        let subject = try await ImageLocator.load("dashboard:ok", storeRoot: factory.storeRoot)
        let first = try LayerScanner.scan(subject)
        #expect(first.layers.allSatisfy { !$0.cached })
        let second = try LayerScanner.scan(subject)
        #expect(second.layers.allSatisfy { $0.cached })
        #expect(second.fileCount == first.fileCount)
        #expect(second.captured["etc/passwd"] == first.captured["etc/passwd"])
        #expect(second.layers.map(\.uncompressedSize) == first.layers.map(\.uncompressedSize))
        // A damaged cache file is ignored and the layer read again.
        let layer = try #require(subject.layers.first?.digest)
        #expect(factory.store.fileIndex(layer: layer) != nil)
        try factory.store.recordFileIndex(Data("IKFILES1garbage".utf8), layer: layer)
        let third = try LayerScanner.scan(subject)
        #expect(third.fileCount == first.fileCount)
        #expect(third.layers.filter(\.cached).count == first.layers.count - 1)
    }
}
