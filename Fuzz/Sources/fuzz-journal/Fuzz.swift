// The close journal's document (what `close --undo` reads back from the
// history database): any JSON, any fields.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let record = try? CloseRenderer.record(fromJournal: text) {
        // What was read must write back.
        _ = CloseRenderer.journalDocument(record)
    }
    return 0
}
