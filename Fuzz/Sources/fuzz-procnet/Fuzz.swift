// /proc/net/{tcp,tcp6,udp,udp6,raw,raw6}: the first byte picks the protocol,
// family and byte order; the rest is the table.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let protos: [TransportProtocol] = [.tcp, .udp, .raw]
    let proto = protos[Int(selector % 3)]
    let family: AddressFamily = selector & 0x10 == 0 ? .ipv4 : .ipv6
    let order: ProcNetParser.ByteOrder = selector & 0x20 == 0 ? .little : .big
    let result = ProcNetParser.parse(bytes, proto: proto, family: family, name: "/proc/net/fuzz", byteOrder: order)
    for record in result.records { _ = "\(record.localAddress):\(record.localPort) \(record.remoteAddress)" }
    for diagnostic in result.diagnostics { _ = "\(diagnostic)" }
    return 0
}
