// /etc/passwd and /etc/services (with nmap-services): everything before the
// first NUL byte is one file, everything after it the other.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let cut = bytes.firstIndex(of: 0) ?? bytes.count
    let first = Array(bytes[..<cut])
    let second = cut < bytes.count ? Array(bytes[(cut + 1)...]) : nil

    _ = ProcessFiles.parsePasswd(bytes)
    _ = ProcessFiles.userHomes(passwd: bytes)
    _ = ProcessFiles.homeDirectories(passwd: bytes)

    let table = ServiceTable(etcServices: first, nmapServices: second)
    for port: UInt16 in [0, 22, 53, 80, 443, 65535] {
        _ = table.name(port: port, proto: .tcp)
        _ = table.name(port: port, proto: .udp)
    }
    _ = table.ports(named: "http")
    _ = table.nmapNames(proto: .tcp)
    _ = table.topPorts(20, proto: .tcp)
    _ = table.topPorts(20, proto: .udp)
    _ = try? PortList.top(100, table: table)
    return 0
}
