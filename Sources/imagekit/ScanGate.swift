import AWS
import Foundation
import Policy
import Project
import Store

/// `push --scan`: after an ECR push, wait for ECR's scan of the pushed digest, print what it
/// found, write it as SARIF, and stop (exit 1) on findings at or above the threshold, before the
/// digest is written anywhere a deployment reads it.
struct ScanGate {
    var threshold: ECRScanSeverity
    var timeout: Int
    var report: URL?

    /// The gate the flags and the project ask for; nil when none does. Project settings apply
    /// only to the project's own repository (`fromProject`), as its SAM settings do.
    init?(
        scan: Bool, failOn: String?, timeout: String?, report: String?, project: ProjectFile.Scan?, fromProject: Bool,
        cwd: URL, projectDirectory: URL?
    ) throws {
        let configured = fromProject ? project : nil
        guard scan || configured != nil else {
            if failOn != nil || timeout != nil || report != nil {
                throw CommandFailure.usage(
                    "--scan-fail-on, --scan-timeout and --scan-report go with --scan (or push.scan in imagekit.yaml)")
            }
            return nil
        }
        let severityName = failOn ?? configured?.failOn ?? "CRITICAL"
        guard let severity = ECRScanSeverity(name: severityName),
            ECRScanSeverity.thresholdNames.contains(severity.description)
        else {
            throw CommandFailure.usage(
                "--scan-fail-on must be one of \(ECRScanSeverity.thresholdNames.joined(separator: ", ")), not '\(severityName)'"
            )
        }
        threshold = severity
        if let timeout {
            guard let seconds = ProjectFile.Scan.seconds(timeout) else {
                throw CommandFailure.usage(
                    "--scan-timeout must be a duration such as 600, 90s or 15m, not '\(timeout)'")
            }
            self.timeout = seconds
        } else {
            self.timeout = configured?.timeout ?? 600
        }
        if let report {
            self.report = URL(fileURLWithPath: report, relativeTo: cwd)
        } else if let path = configured?.report {
            self.report = URL(fileURLWithPath: path, relativeTo: projectDirectory ?? cwd)
        }
    }

    /// Waits for the scan and applies the threshold. Throws exit 1 on findings at or above it and
    /// exit 3 when the scan fails or does not complete in time.
    func check(
        reference: String, repository: String, digest: String, registryId: String?, context: AWSContext,
        progress: ProgressOptions
    ) async throws {
        progress.say("waiting for the ECR scan of \(reference) (fail on \(threshold), up to \(timeout) s)")
        let result: ECRScanResult
        do {
            result = try await context.ecr.imageScanFindings(
                repository: repository, digest: digest, registryId: registryId,
                polling: ECRScanPolling(timeout: TimeInterval(timeout)))
        } catch let error as AWSError {
            switch error {
            case .scanTimedOut, .scanFailed, .imageNotFound: throw CommandFailure.remote("\(error)")
            default: throw error
            }
        }
        for line in Self.summary(result, threshold: threshold) { progress.say(line) }
        let blocking = result.count(atOrAbove: threshold)
        if let report {
            try FileOps.atomicWrite(try Self.sarif(result, reference: reference, threshold: threshold), to: report)
            progress.say("wrote the scan findings to \(report.relativePath) (SARIF)")
        }
        if blocking > 0 {
            throw CommandFailure.check(
                "the ECR scan found \(blocking) finding\(blocking == 1 ? "" : "s") at or above \(threshold) in \(reference); the digest was not written to any deployment file. Update the base image or the packages named above (see the fixed-in versions), then build and push again"
            )
        }
    }

    /// "ECR scan (basic): 1 CRITICAL, 2 HIGH, ..." and the ten most severe findings.
    static func summary(_ result: ECRScanResult, threshold: ECRScanSeverity, top: Int = 10) -> [String] {
        let counts = ECRScanSeverity.allCases.reversed().map { "\(result.counts[$0] ?? 0) \($0)" }.joined(
            separator: ", ")
        var lines = ["ECR scan (\(result.scanner)): \(counts)"]
        for finding in result.findings.prefix(top) {
            let marker = finding.severity >= threshold ? "!" : " "
            lines.append(
                "  \(marker) \(finding.severity.description.padding(toLength: 13, withPad: " ", startingAt: 0)) \(describe(finding))"
            )
        }
        if result.findings.count > top {
            lines.append("    ... and \(result.findings.count - top) more (see --scan-report)")
        }
        return lines
    }

    static func describe(_ finding: ECRScanFinding) -> String {
        var text = finding.id
        if let package = finding.package { text += " in \(package)\(finding.version.map { " \($0)" } ?? "")" }
        text += finding.fixedIn.map { ", fixed in \($0)" } ?? ", no fixed version known"
        return text
    }

    /// One SARIF rule per vulnerability id, one result per finding; GitHub code scanning ranks
    /// them by `security-severity`.
    static func sarif(_ result: ECRScanResult, reference: String, threshold: ECRScanSeverity) throws -> Data {
        var rules: [SARIFLog.Rule] = []
        var index: [String: Int] = [:]
        var results: [SARIFLog.Result] = []
        for finding in result.findings {
            let level = finding.severity >= threshold ? "error" : finding.severity >= .medium ? "warning" : "note"
            if index[finding.id] == nil {
                index[finding.id] = rules.count
                let help =
                    "\(finding.title ?? finding.id)\n\(finding.fixedIn.map { "Update \(finding.package ?? "the package") to \($0) or later." } ?? "No fixed version is known yet.")"
                rules.append(
                    SARIFLog.Rule(
                        id: finding.id, name: finding.id, summary: finding.title ?? finding.id, help: help,
                        level: level, helpURI: finding.uri,
                        properties: [
                            "security-severity": securitySeverity(finding),
                            "tags": ["security", "vulnerability", finding.severity.description.lowercased()],
                        ]))
            }
            results.append(
                SARIFLog.Result(
                    ruleId: finding.id, ruleIndex: index[finding.id]!, level: level,
                    message: "\(finding.severity): \(describe(finding))", logicalLocation: finding.package))
        }
        let blocking = result.count(atOrAbove: threshold)
        return try SARIFLog(
            toolVersion: Verifier.toolVersion, image: reference, rules: rules, results: results,
            exitCode: blocking > 0 ? 1 : 0,
            exitCodeDescription: blocking > 0 ? "findings at or above \(threshold)" : nil,
            properties: [
                "scanner": "ecr-\(result.scanner)", "failOn": threshold.description, "imageDigest": result.digest,
                "severityCounts": Dictionary(
                    uniqueKeysWithValues: result.counts.map { ($0.key.description, $0.value) }),
            ]
        ).data()
    }

    /// The CVSS score when known, else the middle of the severity's band.
    static func securitySeverity(_ finding: ECRScanFinding) -> String {
        if let score = finding.score { return String(format: "%.1f", score) }
        switch finding.severity {
        case .critical: return "9.5"
        case .high: return "8.0"
        case .medium: return "5.5"
        case .low: return "2.0"
        case .informational, .untriaged: return "0.0"
        }
    }
}
