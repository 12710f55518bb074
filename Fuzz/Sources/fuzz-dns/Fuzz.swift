// DNS replies from a resolver (or whoever answers in its place):
// compression pointers, loops, lengths that lie.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? DNSMessage(parsing: bytes) else { return 0 }
    for question in message.questions {
        _ = message.addresses(for: question.name, type: .a)
        _ = message.addresses(for: question.name, type: .aaaa)
        _ = message.answersQuestion(name: question.name, type: question.type)
        _ = DNSMessage.problem(withName: question.name)
    }
    _ = message.addresses(for: "example.com", type: .a)
    _ = try? message.encoded()
    return 0
}
