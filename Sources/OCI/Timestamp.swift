import Foundation

/// RFC 3339 timestamps for `created` fields, derived from SOURCE_DATE_EPOCH so they are reproducible.
public enum Timestamp {
    public static func rfc3339(epochSeconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(epochSeconds)))
    }
}
