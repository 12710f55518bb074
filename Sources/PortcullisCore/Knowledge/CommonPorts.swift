/// The 100 TCP and 100 UDP ports most often found open, most frequent first:
/// nmap's `--top-ports 100` (`-F`) order, taken from the open-frequency
/// column of nmap-services (nmap 7.93), ties broken by port number as
/// `ServiceTable.topPorts` breaks them.
///
/// Used when nmap-services is not installed: ranking by /etc/services alone
/// would scan ports 1, 2, 3, 5, 7... first, which says nothing about what is
/// likely to be open.
public enum CommonPorts {
    /// TCP, most often open first.
    public static let tcp: [UInt16] = [
        80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995, 993, 5900,
        1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001, 10000, 514, 5060, 179, 1026, 2000, 8443, 8000,
        32768, 554, 26, 1433, 49152, 2001, 515, 8008, 49154, 1027, 5666, 646, 5000, 5631, 631, 49153, 8081,
        2049, 88, 79, 5800, 106, 2121, 1110, 49155, 6000, 513, 990, 5357, 427, 49156, 543, 544, 5101, 144, 7,
        389, 8009, 3128, 444, 9999, 5009, 7070, 5190, 3000, 5432, 1900, 3986, 13, 1029, 9, 5051, 6646, 49157,
        1028, 873, 1755, 2717, 4899, 9100, 119, 37,
    ]

    /// UDP, most often open first.
    public static let udp: [UInt16] = [
        631, 161, 137, 123, 138, 1434, 445, 135, 67, 53, 139, 500, 68, 520, 1900, 4500, 514, 49152, 162, 69,
        5353, 111, 49154, 1701, 998, 996, 997, 999, 3283, 49153, 1812, 136, 2222, 2049, 32768, 5060, 1025,
        1433, 3456, 80, 20031, 1026, 7, 1646, 1645, 593, 518, 2048, 626, 1027, 177, 1719, 427, 497, 4444,
        1023, 65024, 19, 9, 49193, 1029, 49, 88, 1028, 17185, 1718, 49186, 2000, 31337, 49192, 49201, 515,
        2223, 443, 49181, 1813, 120, 158, 49200, 3703, 32815, 17, 5000, 32771, 33281, 1030, 623, 1022, 32769,
        5632, 10000, 49156, 49182, 49191, 49194, 9200, 30718, 49185, 49188, 49190,
    ]

    /// The list for `proto` (empty for RAW, which has no ports).
    public static func ranked(_ proto: TransportProtocol) -> [UInt16] {
        switch proto {
        case .tcp: return tcp
        case .udp: return udp
        case .raw: return []
        }
    }
}
