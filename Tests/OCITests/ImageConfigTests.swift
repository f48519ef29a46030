import Foundation
import Testing

@testable import OCI

@Suite struct ImageConfigTests {
    static let dockerConfig = """
        {"architecture":"amd64","config":{"Env":["PATH=/usr/bin","LANG=C.UTF-8"],"Cmd":["python3"],"User":"1000",
        "ExposedPorts":{"8501/tcp":{}},"Healthcheck":{"Test":["CMD","python3","-c","x"],"Interval":30000000000,"Retries":3},
        "Labels":{"a":"b"},"Hostname":"","AttachStdin":false},"container":"abc","container_config":{"Cmd":["/bin/sh"]},
        "created":"2024-01-01T00:00:00Z","docker_version":"24.0.7","history":[{"created":"2024-01-01T00:00:00Z","created_by":"x","empty_layer":true}],
        "os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:\(String(repeating: "0", count: 64))"]}}
        """

    @Test func modelsKnownMembers() throws {
        let config = try ImageConfig.decode(Data(Self.dockerConfig.utf8))
        #expect(config.config.user == "1000")
        #expect(config.config.exposedPortList == ["8501/tcp"])
        #expect(config.config.healthcheck?.interval == 30_000_000_000)
        #expect(config.config.healthcheck?.retries == 3)
        #expect(config.rootfs.diffIDs.count == 1)
        #expect(config.history.first?.emptyLayer == true)
        #expect(config.config.environment.map(\.key) == ["PATH", "LANG"])
    }

    @Test func keepsUnknownMembersOnRoundTrip() throws {
        let config = try ImageConfig.decode(Data(Self.dockerConfig.utf8))
        let encoded = try CanonicalJSON.encode(config)
        let original = try JSONSerialization.jsonObject(with: Data(Self.dockerConfig.utf8)) as! NSDictionary
        let again = try JSONSerialization.jsonObject(with: encoded) as! NSDictionary
        #expect(original == again)
        #expect(try CanonicalJSON.encode(ImageConfig.decode(encoded)) == encoded)
    }

    @Test func canonicalEncodingIsStable() throws {
        var a = ImageConfig(created: Timestamp.rfc3339(epochSeconds: 946_684_800))
        a.config.labels = ["z": "1", "a": "2", "m": "3"]
        a.config.setEnv("PATH", "/usr/bin")
        a.config.setEnv("PATH", "/opt/venv/bin:/usr/bin")
        let first = try CanonicalJSON.encode(a)
        let second = try CanonicalJSON.encode(ImageConfig.decode(first))
        #expect(first == second)
        #expect(a.config.env == ["PATH=/opt/venv/bin:/usr/bin"])
        #expect(String(decoding: first, as: UTF8.self).contains("\"created\":\"2000-01-01T00:00:00Z\""))
    }

    @Test func rejectsMalformedWithPath() {
        #expect(throws: OCIError.invalidJSON(what: "image config", reason: "'config.Env' should be a list")) {
            try ImageConfig.decode(Data(#"{"config":{"Env":"PATH=x"}}"#.utf8))
        }
    }

    @Test func indexPicksLinuxAMD64() throws {
        func d(_ c: Character, _ arch: String, _ variant: String? = nil) -> Descriptor {
            Descriptor(
                mediaType: MediaType.ociManifest,
                digest: Digest(algorithm: "sha256", encoded: String(repeating: c, count: 64)), size: 1,
                platform: Platform(os: "linux", architecture: arch, variant: variant))
        }
        let index = ImageIndex(manifests: [d("a", "arm64", "v8"), d("b", "amd64"), d("c", "s390x")])
        #expect(try index.manifest(for: .linuxAMD64).digest.encoded.first == "b")
        #expect(throws: OCIError.self) { try index.manifest(for: Platform(os: "linux", architecture: "riscv64")) }
    }

    @Test func convertsBetweenFormats() {
        let digest = SHA256Hasher.hash(Data("x".utf8))
        let docker = Manifest(
            mediaType: MediaType.dockerManifest,
            config: Descriptor(mediaType: MediaType.dockerConfig, digest: digest, size: 1),
            layers: [Descriptor(mediaType: MediaType.dockerLayerGzip, digest: digest, size: 5)])
        let oci = docker.converted(to: .oci)
        #expect(oci.mediaType == MediaType.ociManifest)
        #expect(oci.config.mediaType == MediaType.ociConfig)
        #expect(oci.layers[0].mediaType == MediaType.ociLayerGzip)
        #expect(oci.converted(to: .docker) == docker)
        #expect(docker.compressedLayerSize == 5)
    }
}
