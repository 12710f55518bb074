/// The request-target of an HTTP/1.1 request line (RFC 9112 §3.2), split
/// into the path and the query that `serve` routes on. The origin form
/// (`/api/v1/events?after=3`) is what clients send; the absolute form
/// (`http://host:9633/metrics`), which proxies send, routes the same.
public struct RequestTarget: Sendable, Equatable {
    /// The path as sent (still percent-encoded): `/metrics`. Never empty.
    public var path: String
    /// The query's `name=value` pairs in order, percent-decoded, `+` read as a space.
    public var query: [(name: String, value: String)]

    /// Splits `target`. A form with no path (`*`, `host:port`) gets the path `*`, which no endpoint has.
    public init(_ target: String) {
        var rest = Substring(target)
        if let scheme = rest.firstRange(of: "://"), !rest.hasPrefix("/") {
            // Absolute form: drop the scheme and the authority.
            let afterScheme = rest[scheme.upperBound...]
            rest = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }).map { afterScheme[$0...] } ?? ""
            if rest.hasPrefix("?") || rest.isEmpty { rest = "/" + rest }
        }
        let question = rest.firstIndex(of: "?")
        let pathPart = question.map { rest[..<$0] } ?? rest
        path = pathPart.hasPrefix("/") ? String(pathPart) : "*"
        query = []
        guard let question else { return }
        for pair in rest[rest.index(after: question)...].split(separator: "&", omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: "=")
            let name = Self.percentDecode(equals.map { pair[..<$0] } ?? pair)
            let value = equals.map { Self.percentDecode(pair[pair.index(after: $0)...]) } ?? ""
            query.append((name, value))
        }
    }

    /// The first value of the query parameter `name`, or nil when it is absent.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// `%XX` escapes and `+` (form encoding) decoded; a malformed escape is
    /// kept as written, and bytes that are not UTF-8 become U+FFFD.
    static func percentDecode(_ text: Substring) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = bytes[index + 1].hexDigitValue,
                let low = bytes[index + 2].hexDigitValue
            {
                out.append(high << 4 | low)
                index += 3
                continue
            }
            out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The same path and the same query pairs in the same order.
    public static func == (a: RequestTarget, b: RequestTarget) -> Bool {
        a.path == b.path && a.query.count == b.query.count && zip(a.query, b.query).allSatisfy { $0 == $1 }
    }
}
