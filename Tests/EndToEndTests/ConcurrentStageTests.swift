import Foundation
import TestSupport
import Testing

/// Stages that do not depend on each other run concurrently; a failing stage cancels the others.
/// Overlap is shown by effects, never by timing: each stage's RUN waits for a file the other's
/// creates in a shared cache mount, which only finishes when both containers run at once.
@Suite(.serialized) struct ConcurrentStageTests {
    /// A shell loop that waits for `file` (polls for up to `seconds`, a bound far above any
    /// machine's latency), then says `message`; exits 9 naming what it waited for otherwise.
    static func await(_ file: String, then message: String, seconds: Int = 300) -> String {
        "i=0; while [ ! -e \(file) ]; do i=$((i+1)); [ $i -gt \(seconds * 10) ] && { echo never saw \(file); exit 9; }; sleep 0.1; done; echo \(message)"
    }

    @Test func independentStagesRunAtTheSameTime() throws {
        let scratch = try TemporaryDirectory.scratch("stages-overlap")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        let id = "rendezvous-\(UUID().uuidString.prefix(8))"
        let mount = "--mount=type=cache,target=/shared,id=\(id)"
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm AS left
                RUN \(mount) touch /shared/left; \(Self.await("/shared/right", then: "left met right")); echo left > /left
                FROM debian-python:bookworm AS right
                RUN \(mount) touch /shared/right; \(Self.await("/shared/left", then: "right met left")); echo right > /right
                FROM debian-python:bookworm
                COPY --from=left /left /left
                COPY --from=right /right /right
                """
            ], in: context)
        let result = try Imagekit.run(
            ["build", "-t", "overlap:1", "--progress", "plain", "--jobs", "2", context.path], store: store,
            directory: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        // Each stage's output carries its stage's name.
        #expect(result.stderr.contains("  [left] | left met right"), "\(result.stderr)")
        #expect(result.stderr.contains("  [right] | right met left"), "\(result.stderr)")
        let bundle = try BuildTests.unpack(store, "overlap:1", scratch: scratch)
        #expect(bundle.read("left") == "left\n")
        #expect(bundle.read("right") == "right\n")
    }

    /// Two stages with RUN steps and a final stage using both: the same image whether the stages
    /// run concurrently or one at a time (`--jobs 1`), in two stores.
    @Test func digestDoesNotDependOnScheduling() throws {
        let scratch = try TemporaryDirectory.scratch("stages-digest")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm AS one
                RUN mkdir -p /out && seq 1 2000 > /out/numbers && echo one > /out/name
                COPY a.txt /out/
                FROM debian-python:bookworm AS two
                RUN useradd --uid 1500 --no-log-init worker && mkdir /data && echo two > /data/name
                COPY b.txt /data/
                FROM two
                COPY --from=one /out /opt/one
                RUN cat /opt/one/name /data/name > /opt/both
                """,
                "a.txt": "a\n", "b.txt": "b\n",
            ], in: context)
        var digests: [String] = []
        for jobs in ["1", "4"] {
            let store = scratch.path("store-\(jobs)")
            _ = try Fixture.importBase(store: store)
            let result = try Imagekit.run(
                ["build", "-t", "sched:1", "--jobs", jobs, context.path], store: store, directory: scratch.url)
            #expect(result.status == 0, "--jobs \(jobs): \(result.stderr)")
            digests.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(digests.count == 2 && digests[0] == digests[1] && digests[0].hasPrefix("sha256:"), "\(digests)")
    }

    /// One stage fails while the other's RUN is still running: the build exits with the failing
    /// stage's error, the running container is killed, and nothing stays mounted or running.
    @Test func failingStageCancelsTheOthersAndLeavesNothingBehind() throws {
        let scratch = try TemporaryDirectory.scratch("stages-fail")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        let id = "cancel-\(UUID().uuidString.prefix(8))"
        let mount = "--mount=type=cache,target=/shared,id=\(id)"
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm AS slow
                RUN \(mount) touch /shared/slow; echo slow is running; sleep 600; touch /finished
                FROM debian-python:bookworm AS failing
                RUN \(mount) \(Self.await("/shared/slow", then: "failing now")); exit 7
                FROM debian-python:bookworm
                COPY --from=slow /finished /finished
                COPY --from=failing /etc/hostname /failing
                """
            ], in: context)
        let containersBefore = RunTests.runcContainers(of: store)
        let result = try Imagekit.run(
            ["build", "-t", "cancel:1", "--progress", "plain", "--jobs", "2", context.path], store: store,
            directory: scratch.url)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("  [slow] | slow is running"), "\(result.stderr)")
        let error = result.stderr.components(separatedBy: "error: ").last ?? ""
        #expect(error.hasPrefix("Dockerfile:4:"), "\(result.stderr)")
        #expect(error.contains("exit code 7") && error.contains("| failing now"), "\(result.stderr)")
        #expect(try Imagekit.run(["inspect", "cancel:1"], store: store).status != 0)
        #expect(Self.mountInfo(under: store).isEmpty, "\(Self.mountInfo(under: store))")
        #expect(RunTests.runcContainers(of: store).subtracting(containersBefore).isEmpty)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: store + "/tmp")) ?? []
        #expect(leftovers.filter { $0.hasPrefix("build-") }.isEmpty, "\(leftovers)")
        let ingest = (try? FileManager.default.contentsOfDirectory(atPath: store + "/ingest")) ?? []
        #expect(ingest.isEmpty, "\(ingest)")
        // The slow stage's command was killed, not waited for.
        let cache = try FileManager.default.contentsOfDirectory(atPath: store + "/cache-mounts").filter {
            !$0.hasSuffix(".lock")
        }
        #expect(cache.count == 1)
        let shared = (try? FileManager.default.contentsOfDirectory(atPath: store + "/cache-mounts/" + cache[0])) ?? []
        #expect(Set(shared) == ["slow"], "\(shared)")
    }

    @Test func jobsMustBeAtLeastOne() throws {
        let scratch = try TemporaryDirectory.scratch("stages-jobs")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(["Dockerfile": "FROM scratch\n"], in: context)
        let result = try Imagekit.run(
            ["build", "--jobs", "0", context.path], store: scratch.path("store"), directory: scratch.url)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("--jobs 0: give at least 1"), "\(result.stderr)")
    }

    /// Mount points at or below `directory`, from /proc/self/mountinfo (field 5 is the mount point).
    static func mountInfo(under directory: String) -> [String] {
        let text = kernelFile("/proc/self/mountinfo")
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let target = fields[4].replacingOccurrences(of: "\\040", with: " ")
            return target.hasPrefix(directory + "/") || target == directory ? target : nil
        }
    }
}
