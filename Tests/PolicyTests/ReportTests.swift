import Foundation
import TestSupport
import Testing

@testable import Policy

@Suite struct ReportTests {
    /// A report with a violation, a warning, a suppression and a skip.
    func mixedReport() async throws -> VerificationReport {
        let factory = try ImageFactory()
        try await factory.dashboard(
            "dashboard:mixed",
            extra: [
                .dir("usr"), .dir("usr/local"), .dir("usr/local/bin"),
                .file("usr/local/bin/ping", "#!ELF", mode: 0o4755),
                .dir("srv", mode: 0o777),
            ]
        ) {
            $0.healthcheck = nil
            $0.labels?["note"] = "a <tag> & \"quotes\""
            $0.env?.append("DB_PASSWORD=hunter2hunter2hunter2")
        }
        var policy = try loadPolicy()
        policy.suppressions = [Suppression(rule: "IK011", reason: "ping needs setuid until the probe moves to HTTP")]
        return try await factory.verify("dashboard:mixed", policy: policy)
    }

    @Test func junitIsReadByJunitparser() async throws {
        let report = try await mixedReport()
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("verify.xml")
        try Report.render(report, format: .junit).write(to: file)
        let script = """
            import sys
            from junitparser import JUnitXml, Failure, Skipped
            xml = JUnitXml.fromfile(sys.argv[1])
            suites = list(xml) if hasattr(xml, '__iter__') else [xml]
            assert len(suites) == 1, suites
            suite = suites[0]
            cases = list(suite)
            out = []
            for case in cases:
                kinds = [type(r).__name__ for r in case.result]
                msgs = [r.message for r in case.result]
                out.append(f"{case.name}|{','.join(kinds)}|{msgs[0] if msgs else ''}")
            print(f"tests={suite.tests} failures={suite.failures} skipped={suite.skipped}")
            print("\\n".join(out))
            """
        let result = try python(script, [file.path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let violations = report.results.filter(\.violation).count
        let skipped = report.results.filter { $0.status == .suppressed || $0.status == .skipped }.count
        #expect(lines.first == "tests=\(report.results.count) failures=\(violations) skipped=\(skipped)")
        #expect(lines.contains { $0.hasPrefix("IK005 healthcheck-present|Failure|no HEALTHCHECK") })
        #expect(lines.contains { $0.hasPrefix("IK010 no-secrets|Failure|") })
        #expect(
            lines.contains("IK011 setuid-files|Skipped|suppressed: ping needs setuid until the probe moves to HTTP"))
        #expect(lines.contains { $0.hasPrefix("IK006 healthcheck-endpoint|Skipped|") })
        #expect(lines.contains("IK008 ports-exposed||"))
    }

    @Test func sarifValidatesAgainstTheSchema() async throws {
        let report = try await mixedReport()
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("verify.sarif")
        try Report.render(report, format: .sarif).write(to: file)
        let schema = try #require(
            Bundle.module.url(forResource: "sarif-schema-2.1.0", withExtension: "json", subdirectory: "Resources"))
        let script = """
            import json, sys
            import jsonschema
            schema = json.load(open(sys.argv[1]))
            log = json.load(open(sys.argv[2]))
            jsonschema.Draft4Validator.check_schema(schema)
            validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
            for e in errors:
                print("INVALID", list(e.path), e.message)
            run = log["runs"][0]
            rules = run["tool"]["driver"]["rules"]
            print("rules", ",".join(r["id"] for r in rules))
            for r in run["results"]:
                loc = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                sup = r.get("suppressions", [{}])[0].get("justification", "")
                print("result", r["ruleId"], r["level"], loc, sup, "|", r["message"]["text"])
            """
        let result = try python(script, [schema.path, file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("INVALID"), "\(result.stdout)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "rules " + report.results.map(\.id).joined(separator: ","))
        #expect(lines.contains { $0.hasPrefix("result IK005 error dashboard:mixed  | no HEALTHCHECK") })
        #expect(lines.contains { $0.hasPrefix("result IK012 error dashboard:mixed  | /srv is world-writable") })
        #expect(lines.contains { $0.hasPrefix("result IK014 warning") } == false)
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "result IK011 error dashboard:mixed ping needs setuid until the probe moves to HTTP | /usr/local/bin/ping is setuid"
                )
            })
        #expect(
            lines.contains { $0.hasPrefix("result IK010 error dashboard:mixed  | ENV DB_PASSWORD has a value (hunt…)") }
        )
    }

    @Test func jsonRoundTripsAndTextShowsTheTable() async throws {
        let report = try await mixedReport()
        let data = try Report.render(report, format: .json)
        let decoded = try JSONDecoder().decode(VerificationReport.self, from: data)
        #expect(decoded.results.map(\.id) == report.results.map(\.id))
        #expect(decoded.passed == false)
        #expect(decoded.policy.suppressions.first?.rule == "IK011")
        #expect(decoded.size.layers.count == 3)
        let text = Report.text(report, color: false)
        #expect(text.contains("FAIL        IK005  healthcheck-present"))
        #expect(text.contains("suppressed: ping needs setuid"))
        #expect(text.contains("Largest directories:"))
        #expect(!text.contains("\u{1B}["))
        #expect(Report.text(report, color: true).contains("\u{1B}[31;1mFAIL"))
    }
}
