/// Go's `time.ParseDuration`: "300ms", "1m30s", "1.5h", "-2s"; units ns, us (µs), ms, s, m, h.
public enum GoDuration {
    /// Nanoseconds, or nil when the text is not a Go duration.
    public static func parse(_ text: String) -> Int64? {
        var chars = Array(text)[...]
        var negative = false
        if let sign = chars.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            chars = chars.dropFirst()
        }
        if chars == ["0"] { return 0 }
        guard !chars.isEmpty else { return nil }
        var total: Double = 0
        while !chars.isEmpty {
            var whole = ""
            while let c = chars.first, c.isASCII, c.isNumber { whole.append(c); chars = chars.dropFirst() }
            var fraction = ""
            if chars.first == "." {
                chars = chars.dropFirst()
                while let c = chars.first, c.isASCII, c.isNumber { fraction.append(c); chars = chars.dropFirst() }
            }
            guard !(whole.isEmpty && fraction.isEmpty) else { return nil }
            var unit = ""
            while let c = chars.first, !(c.isASCII && (c.isNumber || c == ".")) {
                unit.append(c); chars = chars.dropFirst()
            }
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1_000
            case "ms": scale = 1_000_000
            case "s": scale = 1_000_000_000
            case "m": scale = 60_000_000_000
            case "h": scale = 3_600_000_000_000
            default: return nil
            }
            let value = Double((whole.isEmpty ? "0" : whole) + "." + (fraction.isEmpty ? "0" : fraction)) ?? 0
            total += value * scale
            guard total <= Double(Int64.max) else { return nil }
        }
        let nanos = Int64(total.rounded(.towardZero))
        return negative ? -nanos : nanos
    }
}

/// USER's `user[:group]` after expansion.
public struct UserSpec: Sendable, Equatable {
    public var user: String
    public var group: String?

    public init(_ text: String) {
        if let colon = text.firstIndex(of: ":") {
            user = String(text[..<colon])
            group = String(text[text.index(after: colon)...])
        } else {
            user = text
            group = nil
        }
    }
}

/// EXPOSE's `port[-port][/proto]` after expansion, as image config keys (`"80/tcp"`).
public enum ExposedPort {
    public static let protocols: Set<String> = ["tcp", "udp", "sctp"]

    /// The config keys for one EXPOSE word: a range gives one key per port.
    public static func keys(_ word: Word) throws -> [String] {
        let text = word.text
        let fail = { (why: String) in
            DockerfileError.syntax(
                word.location,
                "invalid port `\(text)` in EXPOSE: \(why); write it as PORT, PORT/tcp, PORT/udp or START-END/tcp")
        }
        var portPart = Substring(text)
        var proto = "tcp"
        if let slash = text.firstIndex(of: "/") {
            portPart = text[..<slash]
            proto = text[text.index(after: slash)...].lowercased()
            guard protocols.contains(proto) else { throw fail("unknown protocol `\(proto)`") }
        }
        // Docker accepts ip:hostPort:containerPort specs and keeps only the container port.
        if let lastColon = portPart.lastIndex(of: ":") { portPart = portPart[portPart.index(after: lastColon)...] }
        let bounds = portPart.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let low = Int(bounds[0]), (0...65535).contains(low) else {
            throw fail("the port must be a number from 0 to 65535")
        }
        var high = low
        if bounds.count == 2 {
            guard let h = Int(bounds[1]), (0...65535).contains(h), h >= low else {
                throw fail("the range end must be a port number not below the start")
            }
            high = h
        }
        return (low...high).map { "\($0)/\(proto)" }
    }
}

/// STOPSIGNAL values as Docker accepts them: a signal number, or a Linux signal name with or without `SIG`.
public enum StopSignal {
    static let names: Set<String> = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE",
        "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
        "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
    ]

    /// Throws unless the expanded word names a signal.
    public static func validate(_ word: Word) throws {
        let text = word.text
        if let number = Int(text) {
            guard number > 0 && number <= 64 else {
                throw DockerfileError.syntax(
                    word.location, "invalid STOPSIGNAL \(text): signal numbers go from 1 to 64")
            }
            return
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if names.contains(name) { return }
        if name.hasPrefix("RTMIN") || name.hasPrefix("RTMAX") {
            let rest = name.dropFirst(5)
            if rest.isEmpty { return }
            if let sign = rest.first, sign == "+" || sign == "-", let n = Int(rest.dropFirst()), (1...15).contains(n) {
                return
            }
        }
        throw DockerfileError.syntax(
            word.location, "invalid STOPSIGNAL \(text): use a signal name such as SIGTERM or SIGQUIT, or a number")
    }
}
