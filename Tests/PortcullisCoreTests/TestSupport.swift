import Foundation
import Testing

/// Fixtures and golden files live beside the test sources.
enum TestFiles {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static func fixture(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent("Fixtures").appendingPathComponent(path)))
    }

    /// A recorded netlink conversation: "datagram" starts each recv(),
    /// "#" lines are comments, the rest is hex.
    static func netlinkDatagrams(_ path: String) throws -> [[UInt8]] {
        let text = String(decoding: try fixture(path), as: UTF8.self)
        var datagrams: [[UInt8]] = []
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed == "datagram" {
                datagrams.append([])
                continue
            }
            datagrams[datagrams.count - 1] += hex(trimmed)
        }
        return datagrams
    }

    static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16) ?? 0 }
    }

    /// Compares `actual` with the golden file Snapshots/<name>; re-records it
    /// when RECORD_SNAPSHOTS is set.
    static func assertSnapshot(_ actual: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent("Snapshots").appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("missing snapshot \(name); run with RECORD_SNAPSHOTS=1 to record it", sourceLocation: sourceLocation)
            return
        }
        #expect(actual == expected, "output differs from Snapshots/\(name)", sourceLocation: sourceLocation)
    }
}
