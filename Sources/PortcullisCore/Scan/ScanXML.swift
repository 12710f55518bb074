/// nmap-compatible XML (the `-oX` format, xmloutputversion 1.05), so
/// nmap's own tools — ndiff, xsltproc with nmap.xsl, importers that read
/// nmap XML — read portcullis scans. The structure, element and attribute
/// names and the "extraports" summaries follow nmap's; the scanner is
/// named "portcullis".
public enum ScanXML {
    /// The whole document. `tcpPorts`/`udpPorts` are what was asked for
    /// (the `scaninfo` elements); `serviceName` gives the table name nmap
    /// would print for a port (nil: no service element, as nmap does).
    public static func document(
        _ report: ScanReport, tcpPorts: [UInt16], udpPorts: [UInt16], version: String,
        serviceName: (UInt16, TransportProtocol) -> String?
    ) -> String {
        let args = report.arguments.map(XMLText.escape).joined(separator: " ")
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE nmaprun>
            <nmaprun scanner="portcullis" args="\(args)" start="\(report.startTime)" startstr="\(ctime(report.startTime))" version="\(XMLText.escape(version))" xmloutputversion="1.05">

            """
        if !tcpPorts.isEmpty {
            out += "<scaninfo type=\"connect\" protocol=\"tcp\" numservices=\"\(tcpPorts.count)\" services=\"\(ranges(tcpPorts))\"/>\n"
        }
        if !udpPorts.isEmpty {
            out += "<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"\(udpPorts.count)\" services=\"\(ranges(udpPorts))\"/>\n"
        }
        out += "<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n"
        for host in report.hosts {
            out += "<host starttime=\"\(report.startTime)\" endtime=\"\(report.endTime)\">"
            // Discovery's reason; without discovery the host is taken as up, as nmap -Pn reports it ("user-set").
            let reason =
                if let status = host.status, status.reason != .userSet {
                    status.up ? status.reason.rawValue : HostDiscoveryReason.noResponse.rawValue
                } else {
                    host.isUp ? "user-set" : "no-response"
                }
            out += "<status state=\"\(host.isUp ? "up" : "down")\" reason=\"\(reason)\" reason_ttl=\"0\"/>\n"
            // The plain address, no zone: nmap writes fe80::1%eth0 as addr="fe80::1" too.
            out += "<address addr=\"\(host.address)\" addrtype=\"\(host.address.kind == .v4 ? "ipv4" : "ipv6")\"/>\n"
            if let mac = host.status?.macAddress {
                out += "<address addr=\"\(mac.uppercased())\" addrtype=\"mac\""
                if let vendor = host.status?.vendor { out += " vendor=\"\(XMLText.escape(vendor))\"" }
                out += "/>\n"
            }
            out += "<hostnames>\n"
            if let name = host.hostname { out += "<hostname name=\"\(XMLText.escape(name))\" type=\"user\"/>\n" }
            out += "</hostnames>\n<ports>"
            let (shown, notShown) = ScanRenderer.split(host)
            for summary in notShown {
                out += "<extraports state=\"\(summary.state.rawValue)\" count=\"\(summary.count)\">\n"
                for reason in summary.reasons {
                    let ports = host.ports.filter { $0.state == summary.state && $0.proto == reason.proto && $0.reason == reason.reason }
                        .map(\.port)
                    out +=
                        "<extrareasons reason=\"\(reason.reason.rawValue)\" count=\"\(reason.count)\" proto=\"\(reason.proto.rawValue)\" ports=\"\(ranges(ports))\"/>\n"
                }
                out += "</extraports>\n"
            }
            for port in shown {
                out += "<port protocol=\"\(port.proto.rawValue)\" portid=\"\(port.port)\">"
                out += "<state state=\"\(port.state.rawValue)\" reason=\"\(port.reason.rawValue)\" reason_ttl=\"0\"/>"
                out += service(port, tableName: serviceName(port.port, port.proto))
                out += "</port>\n"
            }
            out += "</ports>\n</host>\n"
        }
        let seconds = Double(report.durationMilliseconds) / 1000
        let up = report.hostsUp
        out +=
            "<runstats><finished time=\"\(report.endTime)\" timestr=\"\(ctime(report.endTime))\" summary=\"portcullis done at \(ctime(report.endTime)); \(report.hosts.count) IP address\(report.hosts.count == 1 ? "" : "es") (\(up) host\(up == 1 ? "" : "s") up) scanned in \(seconds) seconds\" elapsed=\"\(seconds)\" exit=\"success\"/>"
        out += "<hosts up=\"\(up)\" down=\"\(report.hosts.count - up)\" total=\"\(report.hosts.count)\"/>\n</runstats>\n</nmaprun>\n"
        return out
    }

    static func service(_ port: ScanPortResult, tableName: String?) -> String {
        guard let service = port.service, service.method == .probed else {
            // nmap's own table name, as nmap would print it (nothing when it has none).
            return tableName.map { "<service name=\"\(XMLText.escape($0))\" method=\"table\" conf=\"3\"/>" } ?? ""
        }
        var attributes = "name=\"\(XMLText.escape(service.name))\""
        if let product = service.product { attributes += " product=\"\(XMLText.escape(product))\"" }
        if let version = service.version { attributes += " version=\"\(XMLText.escape(version))\"" }
        if let extra = service.extraInfo { attributes += " extrainfo=\"\(XMLText.escape(extra))\"" }
        if service.tls != nil { attributes += " tunnel=\"ssl\"" }
        return "<service \(attributes) method=\"probed\" conf=\"10\"/>"
    }

    /// "1-3,5,7-9" for sorted or unsorted ports.
    public static func ranges(_ ports: [UInt16]) -> String {
        let sorted = Array(Set(ports)).sorted()
        var parts: [String] = []
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    /// ctime(3)-style UTC time: "Fri Nov 27 06:38:27 2026".
    static func ctime(_ seconds: Int64) -> String {
        let iso = Timestamp.iso8601(seconds)  // 2026-11-27T06:38:27Z
        let parts = iso.split(separator: "T")
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        guard date.count == 3, parts.count == 2 else { return iso }
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][date[1] - 1]
        let day = date[2] < 10 ? " \(date[2])" : "\(date[2])"
        return "\(weekday) \(month) \(day) \(parts[1].dropLast()) \(date[0])"
    }
}
