/// One metric family in the Prometheus text exposition format (version
/// 0.0.4): a name, its HELP and TYPE, and its samples.
public struct MetricFamily: Sendable, Equatable {
    /// The TYPE line's word.
    public enum Kind: String, Sendable {
        case gauge, counter
    }

    /// One sample: its labels (in the order written) and value.
    public struct Sample: Sendable, Equatable {
        /// Label names and values; names must match `[a-zA-Z_][a-zA-Z0-9_]*`, values are any text.
        public var labels: [(String, String)]
        /// The value.
        public var value: Double

        /// A sample with these labels.
        public init(_ labels: [(String, String)] = [], _ value: Double) {
            self.labels = labels
            self.value = value
        }

        /// Labels compared pairwise, in order.
        public static func == (a: Sample, b: Sample) -> Bool {
            a.value == b.value && a.labels.count == b.labels.count && zip(a.labels, b.labels).allSatisfy { $0 == $1 }
        }
    }

    /// `portcullis_…`: matches `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    public var name: String
    /// One line of help.
    public var help: String
    /// Gauge or counter.
    public var kind: Kind
    /// The samples, written in this order.
    public var samples: [Sample]

    /// A family with its samples.
    public init(_ name: String, _ kind: Kind, help: String, samples: [Sample] = []) {
        self.name = name
        self.help = help
        self.kind = kind
        self.samples = samples
    }
}

/// Writes metric families in the text format Prometheus scrapes
/// (`text/plain; version=0.0.4`). Checked against `promtool check metrics`.
public enum PrometheusText {
    /// The Content-Type of what `write` produces.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every family with its HELP and TYPE lines, then its samples. A
    /// family without samples still gets its HELP and TYPE, which is valid
    /// and tells a reader the metric exists.
    public static func write(_ families: [MetricFamily], to out: inout OutputSink) {
        for family in families {
            out.write("# HELP \(family.name) \(escapeHelp(family.help))\n# TYPE \(family.name) \(family.kind.rawValue)\n")
            for sample in family.samples {
                out.write(family.name)
                if !sample.labels.isEmpty {
                    out.write("{")
                    for (k, (name, value)) in sample.labels.enumerated() {
                        if k > 0 { out.write(",") }
                        out.write(name)
                        out.write("=\"")
                        out.write(escapeLabelValue(value))
                        out.write("\"")
                    }
                    out.write("}")
                }
                out.write(" ")
                out.write(format(sample.value))
                out.write("\n")
            }
        }
    }

    /// The whole exposition as text.
    public static func text(_ families: [MetricFamily]) -> String { OutputSink.text { write(families, to: &$0) } }

    /// A value as Prometheus reads it: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// A label value: backslash, double quote and line feed escaped, as the format requires.
    public static func escapeLabelValue(_ value: String) -> String {
        var value = value
        let plain = value.withUTF8 { bytes in !bytes.contains { $0 == 0x5c || $0 == 0x22 || $0 == 0x0a } }
        guard !plain else { return value }
        var escaped = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(c)
            }
        }
        return escaped
    }

    /// HELP text: backslash and line feed escaped.
    static func escapeHelp(_ help: String) -> String {
        help.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }
}
