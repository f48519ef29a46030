import Foundation
import TestSupport
import Testing

/// `imagekit build --network none` is the build's network for every step that would use one: an ADD
/// of an http(s) or git URL stops the build before anything is downloaded, as a RUN step finds no
/// network there.
@Suite struct AddNetworkTests {
    @Test(arguments: ["conf.txt", "repo.git", "repo.git#v1"])
    func addOfAURLFollowsTheBuildsNetworkNone(_ path: String) throws {
        let scratch = try TemporaryDirectory.scratch("add-network")
        let served = scratch.url.appendingPathComponent("served")
        try BuildTests.write(["conf.txt": "version=1\n"], in: served)
        let server = try PortServer.files(in: served)
        try #require(server.port > 0)
        let context = scratch.url.appendingPathComponent("ctx")
        let url = server.url(path)
        try BuildTests.write(["Dockerfile": "FROM scratch\nCOPY Dockerfile /d\nADD \(url) /conf\n"], in: context)
        let store = scratch.path("store")

        let refused = try Imagekit.run(
            ["build", "-t", "addnet:1", "--network", "none", context.path], store: store, directory: scratch.url)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(
            refused.stderr.contains(
                "Dockerfile:3:5: ADD \(url) needs the network, but the build runs with --network none"),
            "\(refused.stderr)")

        // The same file with the build's default network is downloaded.
        if path == "conf.txt" {
            let built = try Imagekit.run(
                ["build", "-t", "addnet:2", "--network", "default", context.path], store: store,
                directory: scratch.url)
            #expect(built.status == 0, "\(built.stderr)")
        }
    }
}
