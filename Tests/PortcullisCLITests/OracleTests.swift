import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The listener mix the oracle test compares: TCP and UDP on 127.0.0.1,
/// 0.0.0.0, ::1, :: dual-stack and :: v6only; a pre-forked server whose
/// children share one listening socket; SO_REUSEPORT groups of three.
///
/// Every socket binds port 0 (the kernel picks a free port) except the
/// second and third members of a reuseport group, which join the first.
/// Prints one JSON line when ready:
/// `{"pid": P, "children": [...], "sockets": [{"proto","address","port","role","pids"}, ...]}`
/// (one element per socket, so a reuseport group appears three times).
/// Exits when stdin closes or on SIGTERM; the children die with it
/// (PR_SET_PDEATHSIG).
let listenersScript = #"""
    import ctypes, json, os, signal, socket, sys

    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    PREFORK = 3
    REUSE = 3
    sockets = []   # every socket stays open until exit
    expected = []  # what the test should find, one element per socket

    def bind(proto, family, host, port=0, v6only=None, reuseport=False, device=None):
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(family, kind)
        if device is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device)
        if v6only is not None:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
        if reuseport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((host, port))
        if proto == "tcp":
            s.listen(16)
        sockets.append(s)
        return s

    def port_of(s):
        return s.getsockname()[1]

    def die(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, die)
    parent = os.getpid()

    # 1. A pre-forked server: listen() once, then fork children that share the
    #    fd. Forked first, so the children hold this socket and no other.
    pre = bind("tcp", socket.AF_INET, "127.0.0.1")
    children = []
    for _ in range(PREFORK):
        pid = os.fork()
        if pid == 0:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:   # the parent died before prctl
                os._exit(0)
            signal.signal(signal.SIGTERM, die)
            while True:
                signal.pause()
        children.append(pid)
    expected.append({"proto": "tcp", "address": "127.0.0.1", "port": port_of(pre), "role": "prefork",
                     "pids": sorted([parent] + children), "ifindex": 0})

    # 2. One TCP and one UDP socket on each kind of local address, including an
    #    IPv4-mapped one (ss: [::ffff:127.0.0.1]) and one bound to the loopback
    #    device with SO_BINDTODEVICE (ss: 127.0.0.1%lo).
    for proto in ("tcp", "udp"):
        for role, family, host, v6only, device in (
            ("loopback4", socket.AF_INET, "127.0.0.1", None, None),
            ("any4", socket.AF_INET, "0.0.0.0", None, None),
            ("loopback6", socket.AF_INET6, "::1", True, None),
            ("dualstack", socket.AF_INET6, "::", False, None),
            ("v6only", socket.AF_INET6, "::", True, None),
            ("mapped4", socket.AF_INET6, "::ffff:127.0.0.1", False, None),
            ("bound_lo", socket.AF_INET, "127.0.0.1", None, b"lo"),
        ):
            try:
                s = bind(proto, family, host, v6only=v6only, device=device)
            except PermissionError:
                if device is None:
                    raise
                continue   # SO_BINDTODEVICE needs CAP_NET_RAW before Linux 5.7
            expected.append({"proto": proto, "address": host, "port": port_of(s), "role": role, "pids": [parent],
                             "ifindex": socket.if_nametoindex("lo") if device else 0})

    # 3. SO_REUSEPORT groups: three sockets on one port, for each protocol.
    for proto in ("tcp", "udp"):
        first = bind(proto, socket.AF_INET, "127.0.0.1", reuseport=True)
        port = port_of(first)
        for i in range(REUSE):
            if i > 0:
                bind(proto, socket.AF_INET, "127.0.0.1", port=port, reuseport=True)
            expected.append({"proto": proto, "address": "127.0.0.1", "port": port, "role": "reuseport", "pids": [parent],
                             "ifindex": 0})

    print(json.dumps({"pid": parent, "children": children, "sockets": expected}), flush=True)
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        for c in children:
            try:
                os.kill(c, signal.SIGKILL)
            except OSError:
                pass
        os._exit(0)
    """#

/// One socket of the listener mix, as the fixture describes it.
struct FixtureSocket {
    var proto: String
    var address: String
    var port: Int
    var role: String
    var pids: [Int32]
    /// SO_BINDTODEVICE interface index, 0 when unbound.
    var interfaceIndex: Int
}

/// A socket reduced to what both `ss -tulnpH` and portcullis can say:
/// protocol, local address, port and the set of owner pids.
struct OracleRow: Hashable, Comparable, CustomStringConvertible {
    var proto: String
    var address: String
    var port: Int
    var pids: [Int32]

    init(proto: String, address: String, port: Int, pids: some Sequence<Int32>) {
        self.proto = proto
        self.address = normalizedAddress(address)
        self.port = port
        self.pids = Set(pids).sorted()
    }

    var description: String { "\(proto) \(address) \(port) pids=\(pids.map(String.init).joined(separator: ","))" }
    static func < (a: OracleRow, b: OracleRow) -> Bool { a.description < b.description }
}

/// `[::1]` → `::1`, `127.0.0.53%lo` → `127.0.0.53`, `*` → `::` (ss prints
/// `*` for an IPv6 wildcard that is not v6only, `[::]` for a v6only one).
func normalizedAddress(_ text: String) -> String {
    var address = Substring(text)
    if let percent = address.firstIndex(of: "%") { address = address[..<percent] }
    if address.hasPrefix("[") && address.hasSuffix("]") { address = address.dropFirst().dropLast() }
    if address == "*" { return "::" }
    return address.lowercased()
}

/// Parses `ss -tulnpH` lines:
/// `tcp LISTEN 0 16 127.0.0.1:5000 0.0.0.0:* users:(("python3",pid=1,fd=3),...)`.
func parseSS(_ text: String) -> [OracleRow] {
    var rows: [OracleRow] = []
    for line in text.split(separator: "\n") {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 6, let colon = fields[4].lastIndex(of: ":"),
            let port = Int(fields[4][fields[4].index(after: colon)...])
        else { continue }
        let host = String(fields[4][..<colon])
        var pids: [Int32] = []
        let rest = fields.dropFirst(6).joined(separator: " ")
        var scan = Substring(rest)
        while let range = scan.range(of: "pid=") {
            let digits = scan[range.upperBound...].prefix(while: { $0.isASCII && $0.isNumber })
            if let pid = Int32(digits) { pids.append(pid) }
            scan = scan[range.upperBound...]
        }
        rows.append(OracleRow(proto: String(fields[0]), address: host, port: port, pids: pids))
    }
    return rows
}

func fixtureSockets(_ fixture: PythonFixture) throws -> [FixtureSocket] {
    let list = try #require(fixture.ready["sockets"] as? [[String: Any]], "fixture ready line has no sockets")
    return try list.map { item in
        FixtureSocket(
            proto: try #require(item["proto"] as? String),
            address: try #require(item["address"] as? String),
            port: try #require((item["port"] as? NSNumber)?.intValue),
            role: try #require(item["role"] as? String),
            pids: try #require(item["pids"] as? [NSNumber]).map(\.int32Value),
            interfaceIndex: try #require((item["ifindex"] as? NSNumber)?.intValue))
    }
}

/// The multiset of rows (sorted, duplicates kept: a reuseport group is three rows).
func rowsForFixture(_ rows: [OracleRow], _ wanted: Set<String>) -> [OracleRow] {
    rows.filter { wanted.contains("\($0.proto)/\($0.port)") }.sorted()
}

func describeDifference(_ a: [OracleRow], _ b: [OracleRow], _ aName: String, _ bName: String) -> String {
    var left = a
    var right = b
    for row in a { if let i = right.firstIndex(of: row) { right.remove(at: i) } }
    for row in b { if let i = left.firstIndex(of: row) { left.remove(at: i) } }
    return "only in \(aName):\n  " + left.map(\.description).joined(separator: "\n  ")
        + "\nonly in \(bName):\n  " + right.map(\.description).joined(separator: "\n  ")
}

extension CLITests {
    @Suite("Oracle: list agrees with ss -tulnpH")
    struct Oracle {
        @Test(
            "list's sockets and owner pids are exactly what ss -tulnpH reports",
            .enabled(if: Host.isRoot, "needs root: owner pids of every process are only visible to root"),
            .enabled(if: Host.ss != nil, "ss (iproute2) is not installed: no oracle to compare with"),
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the listener fixture"),
            .enabled(if: Host.hasIPv6Loopback, "IPv6 is unavailable: the fixture binds ::1 and ::"))
        func listMatchesSS() throws {
            let fixture = try PythonFixture(script: listenersScript, name: "listeners.py")
            defer { fixture.stop() }
            let sockets = try fixtureSockets(fixture)
            let children = try #require(fixture.ready["children"] as? [NSNumber]).map(\.int32Value)
            #expect(sockets.count == 1 + 14 + 6)
            #expect(children.count == 3)
            let wanted = Set(sockets.map { "\($0.proto)/\($0.port)" })
            let expected = sockets.map { OracleRow(proto: $0.proto, address: $0.address, port: $0.port, pids: $0.pids) }.sorted()

            // The tables are read moments apart while other processes on the
            // host come and go; a mismatch is retried a couple of times, a
            // real disagreement persists.
            var lastMessage = ""
            var agreed = false
            var document: ListDocument?
            for attempt in 1...3 {
                let listed = try CLI.run(["list", "--format", "json"])
                try #require(listed.status == 0, "\(listed)")
                let doc = try decodeList(listed)
                document = doc
                let ssResult = try Subprocess.run(try #require(Host.ss), ["-tulnpH"])
                try #require(ssResult.status == 0, "\(ssResult)")

                let mine = rowsForFixture(
                    doc.sockets.map {
                        OracleRow(proto: $0.proto, address: $0.localAddress, port: $0.localPort, pids: $0.owners.map(\.pid))
                    }, wanted)
                let theirs = rowsForFixture(parseSS(ssResult.out), wanted)
                if mine == theirs && mine == expected {
                    agreed = true
                    break
                }
                lastMessage =
                    "attempt \(attempt):\n"
                    + (mine == theirs ? "" : describeDifference(mine, theirs, "portcullis list", "ss -tulnpH") + "\n")
                    + (mine == expected ? "" : describeDifference(mine, expected, "portcullis list", "the fixture") + "\n")
                    + "ss output:\n\(ssResult.out)"
                usleep(300_000)
            }
            #expect(agreed, "portcullis list and ss -tulnpH disagree on the fixture's sockets\n\(lastMessage)")

            // What only portcullis says: v6only and the exposure it implies.
            let doc = try #require(document)
            for socket in sockets {
                let matches = doc.sockets.filter {
                    $0.proto == socket.proto && $0.localPort == socket.port && normalizedAddress($0.localAddress) == socket.address
                }
                #expect(!matches.isEmpty, "no \(socket.proto) \(socket.address):\(socket.port) (\(socket.role)) in list")
                for entry in matches {
                    let what = "\(socket.role) \(socket.proto) [\(entry.localAddress)]:\(entry.localPort)"
                    #expect(entry.listening, "\(what) not listening")
                    #expect(entry.state == (socket.proto == "tcp" ? "listen" : "unconnected"), "\(what): state \(entry.state)")
                    #expect(entry.unownedReason == nil, "\(what) has an unowned_reason although owned")
                    #expect(entry.interfaceIndex == socket.interfaceIndex, "\(what): interface_index \(entry.interfaceIndex)")
                    switch socket.role {
                    case "v6only":
                        #expect(entry.family == "ipv6")
                        #expect(entry.v6only == true, "\(what): v6only \(String(describing: entry.v6only))")
                        #expect(entry.exposure == "all_interfaces_ipv6", "\(what): exposure \(entry.exposure)")
                    case "dualstack":
                        #expect(entry.family == "ipv6")
                        #expect(entry.v6only == false, "\(what): v6only \(String(describing: entry.v6only))")
                        #expect(entry.exposure == "all_interfaces_dual_stack", "\(what): exposure \(entry.exposure)")
                    case "loopback6":
                        #expect(entry.family == "ipv6")
                        #expect(entry.v6only == true, "\(what): v6only \(String(describing: entry.v6only))")
                        #expect(entry.exposure == "loopback", "\(what): exposure \(entry.exposure)")
                    case "mapped4":
                        #expect(entry.family == "ipv6")
                        #expect(entry.localAddress == "::ffff:127.0.0.1")
                        #expect(entry.v6only == false, "\(what): v6only \(String(describing: entry.v6only))")
                        #expect(entry.exposure == "loopback", "\(what): exposure \(entry.exposure)")
                    case "any4":
                        #expect(entry.family == "ipv4")
                        #expect(entry.v6only == nil, "\(what): v6only should be null for IPv4")
                        #expect(entry.exposure == "all_interfaces_ipv4", "\(what): exposure \(entry.exposure)")
                    default:  // loopback4, bound_lo, prefork, reuseport: 127.0.0.1
                        #expect(entry.family == "ipv4")
                        #expect(entry.v6only == nil, "\(what): v6only should be null for IPv4")
                        #expect(entry.exposure == "loopback", "\(what): exposure \(entry.exposure)")
                    }
                    if socket.role == "prefork" {
                        // Four holders of one fd number (3 children + parent).
                        #expect(entry.owners.count == 4, "\(what): owners \(entry.owners.map(\.pid))")
                        #expect(Set(entry.owners.flatMap(\.fds)).count == 1, "\(what): shared fd expected")
                        #expect(entry.owners.allSatisfy { $0.user == "root" && $0.uid == 0 })
                    }
                }
                if socket.role == "reuseport" {
                    #expect(Set(matches.map(\.inode)).count == 3, "reuseport group \(socket.proto)/\(socket.port) should be 3 sockets")
                }
            }

            // The --port filter keeps exactly the fixture's sockets.
            let portList = Set(sockets.map(\.port)).sorted().map(String.init).joined(separator: ",")
            let filtered = try CLI.run(["list", "--format", "json", "--port", portList])
            try #require(filtered.status == 0, "\(filtered)")
            let filteredRows = try decodeList(filtered).sockets.filter { wanted.contains("\($0.proto)/\($0.localPort)") }
                .map { OracleRow(proto: $0.proto, address: $0.localAddress, port: $0.localPort, pids: $0.owners.map(\.pid)) }.sorted()
            #expect(
                filteredRows == expected,
                "list --port \(portList)\n\(describeDifference(filteredRows, expected, "list --port", "the fixture"))")
        }

        /// (proto, family, local address, port, inode, state, uid) for every
        /// listening socket in `namespace`.
        static func socketSet(_ namespace: TestNamespace, _ arguments: [String]) throws -> (Set<String>, ListDocument) {
            let result = try namespace.runPortcullis(["list", "--format", "json", "--netns", namespace.name] + arguments)
            try #require(result.status == 0, "\(result)")
            let document = try decodeList(result)
            let keys = document.sockets.map {
                "\($0.proto) \($0.family) [\($0.localAddress)]:\($0.localPort) inode=\($0.inode) \($0.state) uid=\($0.uid)"
            }
            #expect(Set(keys).count == keys.count, "duplicate sockets in list \(arguments): \(keys.sorted())")
            return (Set(keys), document)
        }

        @Test(
            "A whole namespace: /proc/net tables and netlink sock_diag list the same sockets",
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the listener fixture"),
            .enabled(if: Host.canMakeNamespaces, "cannot make network namespaces here: the comparison runs in one of its own"),
            .enabled(if: Host.hasIPv6Loopback, "IPv6 is unavailable: the fixture binds ::1 and ::"))
        func procfsMatchesNetlink() throws {
            // Compared in a namespace of the test's own, where only the
            // fixture listens: the other test targets, in this same process,
            // open and close listeners in the host's namespace all the time.
            let namespace = try TestNamespace()
            let fixture = try PythonFixture(script: listenersScript, name: "listeners.py", namespace: namespace.name)
            defer { fixture.stop() }
            let expected = try fixtureSockets(fixture)
            let fixturePorts = Set(expected.map(\.port))

            for (netlinkArgs, procArgs) in [
                ([String](), ["--source", "procfs"]),
                (["-t", "-u", "--source", "netlink"], ["-t", "-u", "--source", "procfs"]),
            ] {
                let (viaNetlink, netlinkDoc) = try Self.socketSet(namespace, netlinkArgs)
                let (viaProc, procDoc) = try Self.socketSet(namespace, procArgs)
                #expect(procDoc.source == "procfs")
                #expect(netlinkDoc.source.hasPrefix("netlink"), "source \(netlinkDoc.source) for \(netlinkArgs)")
                #expect(netlinkDoc.sockets.filter { fixturePorts.contains($0.localPort) }.count >= expected.count)
                #expect(
                    viaNetlink == viaProc,
                    """
                    list \(netlinkArgs) and list \(procArgs) disagree
                    only via netlink: \(viaNetlink.subtracting(viaProc).sorted())
                    only via procfs: \(viaProc.subtracting(viaNetlink).sorted())
                    """)
            }
        }
    }
}
