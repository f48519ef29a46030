import Foundation

/// Byte sizes as users write them. Decimal units mean what `docker images` shows
/// (1 MB = 1,000,000 bytes); KiB, MiB, GiB, TiB are binary.
public enum ByteSize {
    private static let units: [String: Double] = [
        "": 1, "b": 1,
        "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
        "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
    ]

    /// Parses `500MB`, `1.5 GB`, `512MiB`, `1000000` (bytes).
    public static func parse(_ text: String) throws(PolicyError) -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let numberEnd = trimmed.firstIndex(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) ?? trimmed.endIndex
        let number = trimmed[..<numberEnd]
        let unit = trimmed[numberEnd...].trimmingCharacters(in: .whitespaces).lowercased()
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, let value = Double(number),
            let factor = units[unit]
        else { throw .invalidSize(text) }
        let bytes = (value * factor).rounded()
        guard bytes >= 0, bytes < 9.2e18 else { throw .invalidSize(text) }
        return Int64(bytes)
    }

    /// Decimal, as Docker prints sizes: `612.3 MB`, `4.1 kB`, `512 B`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while abs(value) >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        if unit == 0 { return "\(bytes) B" }
        return String(format: "%.1f %@", value, units[unit])
    }
}
