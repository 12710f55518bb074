import PortcullisCore
import Testing

@Suite struct ScanModelTests {
    @Test func hostIsUpOnlyWhenSomethingAnswered() {
        var host = ScanHostResult(address: IPAddress(v4: 10, 0, 0, 1))
        host.ports = [ScanPortResult(proto: .tcp, port: 22, state: .filtered, reason: .noResponse),
                      ScanPortResult(proto: .udp, port: 53, state: .openFiltered, reason: .noResponse)]
        #expect(!host.isUp)
        host.ports.append(ScanPortResult(proto: .tcp, port: 23, state: .closed, reason: .connRefused))
        #expect(host.isUp && host.count(.filtered) == 1 && host.count(.closed) == 1)
        let report = ScanReport(hosts: [host, ScanHostResult(address: IPAddress(v4: 10, 0, 0, 2))], startTime: 0, endTime: 1,
                                durationMilliseconds: 5, arguments: ["portcullis", "scan"])
        #expect(report.hostsUp == 1 && report.count(.openFiltered) == 1)
        #expect(ScanPortState.allCases.sorted() == [.open, .closed, .filtered, .openFiltered, .unknown])
        #expect(ScanPortState.openFiltered.rawValue == "open|filtered")
    }
}
