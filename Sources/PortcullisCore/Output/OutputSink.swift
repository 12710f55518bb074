/// The one way renderers write a document: every `write…(…, to:)` renderer
/// appends UTF-8 to a sink. A sink made with a `drain` hands its bytes on
/// whenever a chunk has filled (and at `finish()`), so a 50,000-socket
/// document streams to standard output with flat memory; a sink made with
/// `init()` keeps the whole document for the caller (tests, the server).
///
/// Small pieces of text that live inside other lines (an owner summary, a
/// watch event's line, a timestamp) stay functions returning `String`.
public struct OutputSink {
    /// What has been written and not yet drained.
    public private(set) var bytes: [UInt8] = []
    private let drain: (([UInt8]) -> Void)?
    private let chunkSize: Int

    /// A sink that keeps everything written; read it with `bytes` or `text`.
    public init() {
        drain = nil
        chunkSize = .max
    }

    /// A sink that passes its bytes to `drain` in chunks of about
    /// `chunkSize` bytes. Call `finish()` to drain the rest.
    public init(chunkSize: Int = 1 << 16, drain: @escaping ([UInt8]) -> Void) {
        self.drain = drain
        self.chunkSize = chunkSize
        bytes.reserveCapacity(chunkSize + chunkSize / 4)
    }

    /// Everything kept so far, as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends `text` as UTF-8.
    public mutating func write(_ text: String) {
        // One copy of the contiguous UTF-8, not a byte-by-byte walk of the view.
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
        drainIfFull()
    }

    /// Appends raw bytes (already UTF-8).
    public mutating func write(bytes more: some Sequence<UInt8>) {
        bytes.append(contentsOf: more)
        drainIfFull()
    }

    /// Appends `value` as JSON, compact or indented as if nested `indent` levels deep.
    public mutating func write(_ value: JSONValue, pretty: Bool, indent: Int = 0) {
        value.write(into: &bytes, pretty: pretty, indent: indent)
        drainIfFull()
    }

    /// One JSON document as the commands print it: indented, then a newline.
    public mutating func writeDocument(_ value: JSONValue) {
        value.write(into: &bytes, pretty: true, indent: 0)
        bytes.append(0x0a)
        drainIfFull()
    }

    /// One NDJSON line: `value` compact, then a newline.
    public mutating func writeLine(_ value: JSONValue) {
        value.write(into: &bytes, pretty: false, indent: 0)
        bytes.append(0x0a)
        drainIfFull()
    }

    /// Appends one byte. For the JSON writers' punctuation.
    mutating func write(byte: UInt8) { bytes.append(byte) }

    /// JSON string escaping straight into the sink.
    mutating func writeJSONString(_ text: String) { JSONValue.writeString(text, into: &bytes) }

    /// A newline and `indent` levels of two-space indentation.
    mutating func writeJSONNewline(indent: Int) { JSONValue.newline(&bytes, indent) }

    /// Drains what is left (a draining sink); a keeping sink is unchanged.
    public mutating func finish() {
        guard let drain, !bytes.isEmpty else { return }
        drain(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    private mutating func drainIfFull() {
        guard bytes.count >= chunkSize, let drain else { return }
        drain(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    /// The text written by `render` into a fresh keeping sink.
    public static func text(_ render: (inout OutputSink) -> Void) -> String {
        var sink = OutputSink()
        render(&sink)
        return sink.text
    }
}
