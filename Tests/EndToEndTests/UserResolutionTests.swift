import Foundation
import TestSupport
import Testing

/// Build (RUN steps under runc) and verify read USER with one resolver: for each awkward
/// /etc/passwd and /etc/group below, the UID and GID a RUN step ran with are the ones `verify`
/// expects (a policy built from what the step saw passes).
@Suite(.serialized) struct UserResolutionTests {
    static let accounts = #"""
        RUN printf '%s\n' '# a comment line' '' 'app:x:1500:1500::/home/app:/bin/sh' 'short:x:1600' \
              'bad:x:notanumber:1::/:/bin/sh' >> /etc/passwd \
         && printf '%s\n' '# groups' 'app:x:1500:' 'extra:x:1700:app' >> /etc/group
        """#

    @Test(arguments: [
        ("app", "1500 1500 1500 1700"),  // a name; supplementary groups from /etc/group
        ("short", "1600 0 0"),  // a short line: no group field, so group 0
        ("1234", "1234 0 0"),  // a numeric user without an entry
        ("app:extra", "1500 1700 1700"),  // an explicit group: no supplementary groups
    ])
    func runAndVerifyAgree(user: String, expected: String) throws {
        let scratch = try TemporaryDirectory.scratch("users")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                \(Self.accounts)
                USER \(user)
                RUN echo "$(id -u) $(id -g) $(id -G)" > /tmp/ids
                """
            ], in: context)
        let built = try Imagekit.run(["build", "-t", "users:1", context.path], store: store, directory: scratch.url)
        try #require(built.status == 0, "\(built.stderr)")
        let seen = try #require(try BuildTests.unpack(store, "users:1", scratch: scratch).read("tmp/ids"))
        #expect(seen == expected + "\n", "RUN as \(user)")

        let ids = seen.split(separator: " ")
        let policy = scratch.url.appendingPathComponent("same-user.yaml")
        try writeFile("name: same-user\nmetadataTest:\n  user: \"\(ids[0]):\(ids[1])\"\n", to: policy)
        let verified = try Imagekit.run(
            ["verify", "--policy", policy.path, "--format", "json", "users:1"], store: store, directory: scratch.url)
        #expect(verified.status == 0, "verify resolved USER \(user) otherwise: \(verified.stdout) \(verified.stderr)")
        #expect(verified.stdout.contains("as expected"), "\(verified.stdout)")
    }
}
