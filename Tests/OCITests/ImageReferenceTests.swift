import Testing

@testable import OCI

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("python:3.12-slim", "docker.io/library/python:3.12-slim", "python:3.12-slim"),
        ("python", "docker.io/library/python:latest", "python:latest"),
        ("vibejudge-dashboard", "docker.io/library/vibejudge-dashboard:latest", "vibejudge-dashboard:latest"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7", "bitnami/redis:7"),
        ("index.docker.io/library/alpine:3", "docker.io/library/alpine:3", "alpine:3"),
        (
            "127.0.0.1:5000/debian-python:bookworm", "127.0.0.1:5000/debian-python:bookworm",
            "127.0.0.1:5000/debian-python:bookworm"
        ),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        (
            "public.ecr.aws/docker/library/python:3.12-slim", "public.ecr.aws/docker/library/python:3.12-slim",
            "public.ecr.aws/docker/library/python:3.12-slim"
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard:abc1234",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard:abc1234",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard:abc1234"
        ),
        ("a__b/c-d---e.f_g:T_1.x-y", "docker.io/a__b/c-d---e.f_g:T_1.x-y", "a__b/c-d---e.f_g:T_1.x-y"),
    ])
    func normalises(_ input: String, _ full: String, _ familiar: String) throws {
        let ref = try ImageReference(parsing: input)
        #expect(ref.description == full)
        #expect(ref.familiar == familiar)
    }

    @Test func keepsDigestAndTag() throws {
        let hex = String(repeating: "ab", count: 32)
        let ref = try ImageReference(parsing: "python:3.12@sha256:\(hex)")
        #expect(ref.tag == "3.12")
        #expect(ref.digest?.encoded == hex)
        let byDigest = try ImageReference(parsing: "python@sha256:\(hex)")
        #expect(byDigest.tag == nil)
        #expect(byDigest.description == "docker.io/library/python@sha256:\(hex)")
    }

    @Test(arguments: [
        "", "Python", "python:", "python:-bad", "python:.bad", "a//b", "-a", "a-", "a..b", "host:0/x",
        "python:" + String(repeating: "x", count: 129), "a b", "python@sha256:123",
    ])
    func rejects(_ input: String) {
        #expect(throws: OCIError.self) { try ImageReference(parsing: input) }
    }

    @Test func tagGrammarMatchesECR() {
        #expect(ImageReference.isValidTag("abc1234"))
        #expect(ImageReference.isValidTag("_x"))
        #expect(ImageReference.isValidTag(String(repeating: "a", count: 128)))
        #expect(!ImageReference.isValidTag(String(repeating: "a", count: 129)))
        #expect(!ImageReference.isValidTag("v1/2"))
        #expect(!ImageReference.isValidTag(".hidden"))
    }
}
