// What a user types or a file lists as scan targets and ports: target
// specifications (`-iL` files too, and the set they make), port lists, and
// the /etc/hosts and resolv.conf files the resolver reads. The input up to
// the first NUL is the port list; the rest is the target text.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let cut = bytes.firstIndex(of: 0) ?? bytes.count
    let portText = String(decoding: bytes[..<cut], as: UTF8.self)
    let targetText = cut < bytes.count ? String(decoding: bytes[(cut + 1)...], as: UTF8.self) : portText

    if let list = try? PortList.parse(portText) {
        _ = list.ports(for: .tcp).count + list.ports(for: .udp).count
    }
    _ = try? TargetSpec.parse(targetText)
    let arguments = targetText.split(separator: " ").prefix(16).map(String.init)
    if let specs = try? TargetSpec.parseList(arguments) {
        _ = TargetSpec.hostnames(in: specs)
        _ = try? TargetSet(targets: specs, resolved: [:], screening: true)
    }
    if let specs = try? TargetSpec.parseFile(targetText, path: "fuzz.txt") {
        if let set = try? TargetSet(targets: specs, excluding: Array(specs.suffix(1))) {
            var count = 0
            for _ in set {
                count += 1
                if count > 64 { break }
            }
        }
    }
    _ = HostsFile(targetText)
    _ = ResolverConfiguration(resolvConf: targetText)
    return 0
}
