import Foundation

/// Report formats of `imagekit verify --format`.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text, json, junit, sarif
}

/// Renders a `VerificationReport` as text, JSON, JUnit XML or SARIF 2.1.0.
public enum Report {
    public static func render(_ report: VerificationReport, format: ReportFormat, color: Bool = false) throws -> Data {
        switch format {
        case .text: return Data(text(report, color: color).utf8)
        case .json: return try json(report)
        case .junit: return Data(junit(report).utf8)
        case .sarif: return try sarif(report)
        }
    }

    public static func json(_ report: VerificationReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(report) + Data("\n".utf8)
    }

    // MARK: Text

    static func shortInstruction(_ createdBy: String?) -> String {
        guard var text = createdBy?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return "(no history)" }
        if text.hasPrefix("/bin/sh -c #(nop) ") {
            text = String(text.dropFirst("/bin/sh -c #(nop) ".count)).trimmingCharacters(in: .whitespaces)
        } else if text.hasPrefix("/bin/sh -c ") {
            text = "RUN " + text.dropFirst("/bin/sh -c ".count)
        }
        text = text.replacingOccurrences(of: "\n", with: " ")
        return text.count > 60 ? String(text.prefix(59)) + "…" : text
    }

    public static func text(_ report: VerificationReport, color: Bool) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        var out = "Image:  \(report.image.reference)\(report.image.digest.map { " (\($0))" } ?? "")\n"
        out +=
            "Policy: \(report.policy.name)\(report.policy.file.map { " (\($0))" } ?? ""), fail on \(report.failOn.rawValue)\n\n"
        var rows = [["STATUS", "ID", "RULE", "SEVERITY", "RESULT"]]
        var paints: [String?] = [nil]
        for r in report.results {
            let status: String
            let code: String?
            switch r.status {
            case .passed: status = "pass"; code = "32"
            case .failed:
                status = r.violation ? "FAIL" : (r.severity == .info ? "info" : "warn");
                code = r.violation ? "31;1" : "33"
            case .suppressed: status = "suppressed"; code = "36"
            case .skipped: status = "skipped"; code = "2"
            }
            let message = r.status == .suppressed ? "suppressed: \(r.suppressionReason ?? "")" : r.message
            rows.append([status, r.id, r.name, r.severity.rawValue, message])
            paints.append(code)
        }
        // A fixed status column ("suppressed" is the longest) keeps reports comparable.
        let widths = [10] + (1..<4).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (row, code) in zip(rows, paints) {
            var line = ""
            for c in 0..<4 {
                let cell = row[c].padding(toLength: widths[c], withPad: " ", startingAt: 0)
                line += (c == 0 && code != nil ? paint(cell, code!) : cell) + "  "
            }
            out += line + row[4] + "\n"
        }
        let problems = report.results.filter { $0.status == .failed }
        if !problems.isEmpty {
            out += "\n"
            for r in problems {
                out += "\(paint(r.title, r.violation ? "31;1" : "33")) (\(r.severity.rawValue)): \(r.message)\n"
                for finding in r.findings.prefix(20) where finding.message != r.message {
                    out += "  - \(finding.message)\n"
                }
                if r.findings.count > 20 { out += "  - … and \(r.findings.count - 20) more (see --format json)\n" }
                out += "  help: \(r.help)\n"
            }
        }
        let size = report.size
        out += "\nSize: \(ByteSize.format(size.uncompressedBytes)) uncompressed"
        if let max = size.maxUncompressedBytes { out += " (limit \(ByteSize.format(max)))" }
        out += ", \(ByteSize.format(size.compressedBytes)) compressed"
        if let max = size.maxCompressedBytes { out += " (limit \(ByteSize.format(max)))" }
        out += ", \(size.files) files, \(ByteSize.format(size.wastedBytes)) wasted\n"
        var layerRows = [["LAYER", "SIZE", "COMPRESSED", "CREATED BY"]]
        for layer in size.layers {
            layerRows.append([
                "\(layer.index + 1)", ByteSize.format(layer.uncompressedSize), ByteSize.format(layer.compressedSize),
                shortInstruction(layer.createdBy),
            ])
        }
        out += table(layerRows, indent: "  ")
        if !size.largestDirectories.isEmpty {
            out += "  Largest directories:\n"
            out += table(size.largestDirectories.map { [ByteSize.format($0.bytes), $0.path] }, indent: "    ")
        }
        if !size.largestWaste.isEmpty {
            out += "  Wasted (overwritten or deleted by a later layer):\n"
            out += table(size.largestWaste.map { [ByteSize.format($0.bytes), $0.path] }, indent: "    ")
        }
        let s = report.summary
        let verdict = report.passed ? paint("PASSED", "32;1") : paint("FAILED", "31;1")
        out +=
            "\n\(verdict): \(s.passed) passed, \(s.failed) failed (\(s.errors) error, \(s.warnings) warning, \(s.infos) info), \(s.suppressed) suppressed"
        if s.skipped > 0 { out += ", \(s.skipped) skipped" }
        out += "\n"
        return out
    }

    private static func table(_ rows: [[String]], indent: String) -> String {
        guard let columns = rows.first?.count else { return "" }
        let widths = (0..<columns).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            indent
                + row.enumerated().map { c, cell in
                    c == columns - 1
                        ? cell
                        : (c == 0 && cell.first?.isNumber == true
                            ? String(repeating: " ", count: widths[c] - cell.count) + cell
                            : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0))
                }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    // MARK: JUnit

    /// One testsuite, one testcase per rule; violations are `<failure>`, suppressed and skipped
    /// rules `<skipped>`, findings below the failure threshold go to `<system-out>`.
    public static func junit(_ report: VerificationReport) -> String {
        let failures = report.results.filter(\.violation).count
        let skipped = report.results.filter { $0.status == .suppressed || $0.status == .skipped }.count
        let suite = "imagekit verify \(report.image.reference)"
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out +=
            "<testsuites name=\"imagekit verify\" tests=\"\(report.results.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\">\n"
        out +=
            "  <testsuite name=\"\(xml(suite))\" tests=\"\(report.results.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"0\">\n"
        out += "    <properties>\n"
        out += "      <property name=\"policy\" value=\"\(xml(report.policy.name))\"/>\n"
        if let file = report.policy.file { out += "      <property name=\"policyFile\" value=\"\(xml(file))\"/>\n" }
        if let digest = report.image.digest {
            out += "      <property name=\"imageDigest\" value=\"\(xml(digest))\"/>\n"
        }
        out += "      <property name=\"failOn\" value=\"\(report.failOn.rawValue)\"/>\n"
        out += "    </properties>\n"
        for r in report.results {
            out +=
                "    <testcase classname=\"imagekit.policy.\(xml(report.policy.name))\" name=\"\(xml(r.title))\" time=\"0\""
            let details =
                ([r.message] + r.findings.map(\.message).filter { $0 != r.message }).joined(separator: "\n")
                + "\n\nhelp: \(r.help)"
            switch r.status {
            case .failed where r.violation:
                out +=
                    ">\n      <failure message=\"\(xml(r.message))\" type=\"\(r.severity.rawValue)\">\(xml(details))</failure>\n    </testcase>\n"
            case .failed:
                out +=
                    ">\n      <system-out>\(xml("\(r.severity.rawValue): " + details))</system-out>\n    </testcase>\n"
            case .suppressed:
                out +=
                    ">\n      <skipped message=\"\(xml("suppressed: " + (r.suppressionReason ?? "")))\"/>\n    </testcase>\n"
            case .skipped:
                out += ">\n      <skipped message=\"\(xml(r.message))\"/>\n    </testcase>\n"
            case .passed:
                out += "/>\n"
            }
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    static func xml(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                // XML 1.0 cannot carry other control characters, even escaped.
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) {
                    out += "?"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    // MARK: SARIF

    public static func sarif(_ report: VerificationReport) throws -> Data {
        var rules: [SARIFLog.Rule] = []
        for id in report.results.map(\.id) {
            guard let rule = RuleCatalog.find(id), let result = report.results.first(where: { $0.id == id }) else {
                continue
            }
            rules.append(
                SARIFLog.Rule(
                    id: rule.id, name: rule.name, summary: rule.summary, help: rule.help,
                    level: result.severity.sarifLevel))
        }
        var results: [SARIFLog.Result] = []
        for (ruleIndex, r) in report.results.enumerated() where r.status == .failed || r.status == .suppressed {
            let items = r.findings.isEmpty ? [Finding(r.message)] : r.findings
            for finding in items {
                results.append(
                    SARIFLog.Result(
                        ruleId: r.id, ruleIndex: ruleIndex, level: r.severity.sarifLevel, message: finding.message,
                        logicalLocation: finding.path,
                        suppression: r.status == .suppressed ? (r.suppressionReason ?? "") : nil))
            }
        }
        return try SARIFLog(
            toolVersion: report.toolVersion, image: report.image.reference, rules: rules, results: results,
            exitCode: Int(report.exitCode), exitCodeDescription: report.passed ? nil : "policy violated",
            properties: ["policy": report.policy.name, "imageDigest": report.image.digest ?? ""]
        ).data()
    }
}
