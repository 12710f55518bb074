// The netlink sock_diag decoder: dump replies (decode, digest), the acks of
// SOCK_DESTROY and the replies of exact lookups, as the kernel (or anything
// that can answer on the socket) sends them.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for proto in [TransportProtocol.tcp, .udp] {
        if let batch = try? SockDiagWire.decode(bytes, proto: proto) {
            for record in batch.records { _ = "\(record.localAddress) \(record.remoteAddress)" }
        }
        _ = try? SockDiagWire.decodeLookup(bytes, proto: proto)
    }
    var digest = SockDiagWire.InodeDigest()
    _ = try? SockDiagWire.digest(bytes, into: &digest)
    _ = try? SockDiagWire.decodeAck(bytes)
    _ = SockDiagWire.replySequence(bytes)
    return 0
}
