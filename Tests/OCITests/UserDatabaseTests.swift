import Testing

@testable import OCI

/// The one resolver build (RUN) and verify (USER rules) share, on the edge cases where the two
/// used to disagree.
@Suite struct UserDatabaseTests {
    static let passwd = """
        # system accounts
        root:x:0:0:root:/root:/bin/bash

        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        app:x:1000:1000::/home/app:/bin/sh
        short:x:1001:1001
        broken:x:notanumber:1000::/nowhere:/bin/sh
          indented:x:1002:1002::/srv/indented:/bin/sh
        """
    static let group = """
        #comment:x:99:app
        root:x:0:
        app:x:1000:
        audio:x:29:app,short
        video:x:44: app , other
        bare:x:50
        """
    let db = UserDatabase(passwd: passwd, group: group)

    @Test func commentsBlankAndIndentedLinesFollowRunc() throws {
        #expect(db.accounts.map(\.name) == ["root", "daemon", "app", "short", "indented"])
        #expect(db.groups.map(\.name) == ["root", "app", "audio", "video", "bare"])
        #expect(try db.resolve("indented").get().home == "/srv/indented")
    }

    @Test func shortLinesLeaveMissingFieldsEmpty() throws {
        let short = try db.resolve("short").get()
        #expect(short.uid == 1001 && short.gid == 1001)
        #expect(short.home == "/")
        #expect(short.additionalGids == [29])
        #expect(db.groups.first { $0.name == "bare" }?.members == [])
    }

    @Test func aLineWithANonNumericIdIsSkippedNotReadAsRoot() {
        #expect(db.resolve("broken") == .failure(.unknownUser("broken")))
    }

    @Test func supplementaryGroupsOnlyWithoutAnExplicitGroup() throws {
        let app = try db.resolve("app").get()
        #expect(app.uid == 1000 && app.gid == 1000)
        #expect(app.additionalGids == [29, 44])
        #expect(app.fromPasswd)
        let withGroup = try db.resolve("app:audio").get()
        #expect(withGroup.gid == 29 && withGroup.additionalGids.isEmpty)
        let numericByUID = try db.resolve("1000").get()
        #expect(numericByUID.name == "app" && numericByUID.additionalGids == [29, 44] && !numericByUID.fromPasswd)
    }

    @Test func numericUserWithoutAnEntry() throws {
        let stranger = try db.resolve("4242").get()
        #expect(
            stranger
                == UserDatabase.Identity(uid: 4242, gid: 0, additionalGids: [], name: nil, home: "/", fromPasswd: false)
        )
        #expect(try db.resolve("4242:4343").get().gid == 4343)
        let noFiles = UserDatabase(passwd: nil, group: nil)
        #expect(try noFiles.resolve("1000:1000").get().uid == 1000)
        #expect(noFiles.resolve("app") == .failure(.noPasswd(user: "app")))
    }

    @Test func emptyUserIsRootAndUnknownGroupIsAnError() throws {
        #expect(try db.resolve("").get().home == "/root")
        #expect(db.resolve("app:nosuch") == .failure(.unknownGroup("nosuch")))
    }
}
