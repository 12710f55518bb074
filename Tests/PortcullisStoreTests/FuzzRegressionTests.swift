import Foundation
import PortcullisCore
import Testing

@testable import PortcullisStore

/// Inputs the fuzz targets (Fuzz/, bench/fuzz.sh) found crashing, kept as
/// fixtures (Fixtures/fuzz/): each must now be a clear error.
@Suite("Fuzz regressions: the history store")
struct StoreFuzzRegressionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz")

    @Test(
        "A stored value of the wrong kind is a damaged database naming the column, never a crash",
        arguments: [
            ("snapshot-text-in-integer-column.sql", "listener_count holds \"host\", not an integer")
        ])
    func wrongKindOfValue(fixture: String, message: String) throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        let info = try store.saveSnapshot(Samples.content(), time: 1_764_000_000, label: nil, hostname: "h", source: "netlink")
        let sql = try String(contentsOf: Self.fixtures.appendingPathComponent(fixture), encoding: .utf8)
        try store.queue.write { try $0.execute(sql) }
        for read in [{ _ = try store.content(of: info.id) }, { _ = try store.snapshots() }] as [() throws -> Void] {
            do {
                try read()
                Issue.record("read a damaged snapshot")
            } catch let error as StoreError {
                #expect(error.code == .corrupt)
                #expect(error.description.contains(message))
            }
        }
    }
}
