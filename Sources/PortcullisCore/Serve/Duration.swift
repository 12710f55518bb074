/// Durations as Prometheus writes them (`30s`, `10m`, `1h30m`, `500ms`),
/// for `serve --hidden-interval` and `--watch-interval`.
public enum PromDuration {
    /// Milliseconds; nil when `text` is not units after numbers, largest
    /// first, each unit once (`ms`, `s`, `m`, `h`, `d`, `w`). `0` alone is zero.
    public static func milliseconds(_ text: String) -> Int64? {
        if text == "0" { return 0 }
        let units: [(String, Int64)] = [("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)]
        var rest = Substring(text)
        var total: Int64 = 0
        var lastRank = -1
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            guard let rank = units.firstIndex(where: { $0.0 == letters }), rank > lastRank else { return nil }
            lastRank = rank
            rest = rest.dropFirst(letters.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: units[rank].1)
            guard !overflow, total <= Int64.max - product else { return nil }
            total += product
        }
        return total
    }
}
