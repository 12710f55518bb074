// The nftables JSON ruleset (`nft -j list ruleset`) with iptables-save text
// beside it, and the evaluator over what parsed: the input is the JSON, then
// after a NUL byte the IPv4 iptables-save, then after another the IPv6 one.
// Every listener-shaped question and the published-port extraction and
// judgement are asked of the model.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    let json = Array(parts[0])

    _ = try? JSONValue.parse(json)
    _ = try? JSONValue.parse(json, maxDepth: 16, nonIntegers: .keepAsString)

    var save: [AddressFamily: String] = [:]
    if parts.count > 1 { save[.ipv4] = String(decoding: parts[1], as: UTF8.self) }
    if parts.count > 2 { save[.ipv6] = String(decoding: parts[2], as: UTF8.self) }
    guard let model = try? FirewallModel(nftJSON: json, iptablesSave: save) else { return 0 }
    _ = model.notes
    _ = model.baseChainCounts
    let addresses = [
        IPAddress(v4: 0, 0, 0, 0), IPAddress(v4: 127, 0, 0, 1), IPAddress(v4: 192, 168, 1, 10),
        IPAddress(v6High: 0, low: 0), IPAddress(v6High: 0, low: 1), IPAddress(v6High: 0, low: 0xffff_c0a8_010a),
    ]
    var memo = FirewallModel.Memo()
    for proto in [TransportProtocol.tcp, .udp] {
        for port: UInt16 in [22, 80, 443, 8080, 65535] {
            for address in addresses {
                let family: AddressFamily = address.kind == .v4 ? .ipv4 : .ipv6
                let evaluation = model.evaluate(proto: proto, family: family, port: port, localAddress: address)
                _ = "\(evaluation.verdict) \(evaluation.conditions) \(evaluation.restrictions)"
                _ = model.verdict(proto: proto, family: family, port: port, localAddress: address, memo: &memo)
            }
        }
    }
    let scan = model.publishedPorts()
    for port in scan.ports {
        let judgement = model.judge(port)
        _ = "\(port) \(judgement.reachableFromOtherHosts)"
    }
    return 0
}
