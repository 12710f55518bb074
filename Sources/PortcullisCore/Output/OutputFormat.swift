/// Output formats shared by every command; each command prints a subset.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// For people: a table or a report. `text` is the same format by another name.
    case table, text
    /// One JSON document.
    case json
    /// One JSON object per line.
    case ndjson
    /// Comma-separated values (RFC 4180), one row per socket.
    case csv
    /// JUnit XML (`audit`), so CI systems list each finding.
    case junit

    /// The format for people, under either name.
    public var isText: Bool { self == .table || self == .text }
}

/// How a terminal table is drawn.
public struct TableStyle: Sendable {
    /// ANSI colour: only on a TTY and never with NO_COLOR (the caller decides).
    public var color: Bool
    /// A style with or without colour.
    public init(color: Bool) { self.color = color }

    func paint(_ text: String, _ code: String) -> String {
        color ? "\u{1b}[\(code)m\(text)\u{1b}[0m" : text
    }
}

extension String {
    /// Unicode scalars, counted fast from UTF-8 (every non-continuation byte).
    var displayWidth: Int {
        var n = 0
        for b in utf8 where b & 0xc0 != 0x80 { n += 1 }
        return n
    }
}

/// A column-aligned text table. Widths count Unicode scalars, which is right
/// for the ASCII and escaped text portcullis shows.
public struct TextTable {
    /// The header row, drawn bold in colour.
    public var headers: [String]
    /// The rows, in order.
    public var rows: [[String]] = []
    /// Per-row colour code (SGR) or nil.
    public var rowColors: [String?] = []

    /// An empty table with these headers.
    public init(headers: [String]) { self.headers = headers }

    /// Adds a row, with an SGR colour code for the whole row or nil.
    public mutating func append(_ row: [String], color: String? = nil) {
        rows.append(row)
        rowColors.append(color)
    }

    /// Writes the header and rows, columns padded to their widest cell.
    public func write(_ style: TableStyle, to sink: inout OutputSink) {
        // Only the columns before the last are padded, so only their cells
        // are measured, each once: the widths are remembered for the
        // padding. (The overview's last column, the verdict, is its longest
        // text; measuring it, and every other cell twice, was a fifth of
        // rendering a 10,000-row table.)
        let measured = max(headers.count - 1, 0)
        var widths = headers.prefix(measured).map { $0.displayWidth }
        var cellWidths: [Int] = []
        cellWidths.reserveCapacity(rows.count * measured)
        var lastColumnBytes = headers.last?.utf8.count ?? 0
        for row in rows {
            for i in 0..<measured {
                let width = i < row.count ? row[i].displayWidth : 0
                widths[i] = max(widths[i], width)
                cellWidths.append(width)
            }
            if row.count > measured { lastColumnBytes = max(lastColumnBytes, row[measured].utf8.count) }
        }
        var out: [UInt8] = []
        out.reserveCapacity((widths.reduce(0, +) + 2 * widths.count + lastColumnBytes + 1) * (rows.count + 1))
        func line(_ cells: [String], color: String?, width: (Int) -> Int) {
            if let color, style.color { out.append(contentsOf: "\u{1b}[\(color)m".utf8) }
            for (i, cell) in cells.enumerated() {
                out.append(contentsOf: cell.utf8)
                if i < cells.count - 1 {
                    let pad = widths[i] - width(i) + 2
                    for _ in 0..<pad { out.append(0x20) }
                }
            }
            if color != nil && style.color { out.append(contentsOf: "\u{1b}[0m".utf8) }
            out.append(0x0a)
        }
        line(headers, color: "1") { headers[$0].displayWidth }
        for (r, (row, color)) in zip(rows, rowColors).enumerated() {
            line(row, color: color) { cellWidths[r * measured + $0] }
        }
        sink.write(bytes: out)
    }
}

/// RFC 4180 CSV with protection against spreadsheet formula injection:
/// untrusted cells that begin with = + - @ are prefixed with a quote mark.
public enum CSV {
    /// One CSV row with its CRLF, each cell quoted where needed.
    public static func row(_ cells: [String]) -> String {
        cells.map(cell).joined(separator: ",") + "\r\n"
    }

    static func cell(_ raw: String) -> String {
        var value = raw
        if let first = value.unicodeScalars.first, "=+-@".unicodeScalars.contains(first) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
        }
        return value
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
