// The YAML policy file (`--policy`), and the decisions made with what parsed.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let policy = try Policy.parse(text, file: "fuzz.yaml")
        _ = policy.expiredIgnores(now: 1_800_000_000)
        for rule in RuleID.allCases {
            _ = policy.severity(for: rule, default: .medium)
            _ = policy.activeIgnore(rule: rule, findingID: "abc", now: 1_800_000_000)
        }
    } catch {
        _ = "\(error)"
    }
    _ = PolicyDate(parsing: text)
    return 0
}
