import PortcullisCore
import Testing

@Suite("Network namespaces: selectors, nsfs mounts, identity, judgement")
struct NamespaceTests {
    @Test(
        "--netns values: host, pids, inodes (also as readlink shows them), names",
        arguments: [
            ("host", NamespaceSelector.host), ("1", .pid(1)), ("4194304", .pid(4_194_304)), ("4194305", .inode(4_194_305)),
            ("4026531833", .inode(4_026_531_833)), ("net:[4026532174]", .inode(4_026_532_174)), ("web", .name("web")),
            ("blue-1", .name("blue-1")), ("0123456789ab", .name("0123456789ab")),
        ])
    func parses(text: String, expected: NamespaceSelector) throws {
        #expect(try NamespaceSelector(parsing: text) == expected)
    }

    @Test("Bad --netns values say what is accepted", arguments: ["", "0", "a/b", "../x", "tab\there", "net:[]"])
    func rejects(text: String) {
        #expect(throws: FilterError.self) { try NamespaceSelector(parsing: text) }
        do { _ = try NamespaceSelector(parsing: text) } catch {
            #expect(error.option == "--netns")
            #expect(error.description.contains("host"))
        }
    }

    @Test("A selector matches by name, pid, inode, or a container's name or short id")
    func matches() {
        let named = NetworkNamespace(inode: 7, name: "blue", kind: .named)
        #expect(NamespaceSelector.name("blue").matches(named, pids: [], containers: []))
        #expect(NamespaceSelector.pid(42).matches(named, pids: [41, 42], containers: []))
        #expect(!NamespaceSelector.pid(43).matches(named, pids: [41, 42], containers: []))
        #expect(NamespaceSelector.inode(7).matches(named, pids: [], containers: []))
        let id = String(repeating: "ab", count: 32)
        let anonymous = NetworkNamespace(inode: 8, name: nil, kind: .process)
        #expect(NamespaceSelector.name("web").matches(anonymous, pids: [], containers: [id, "web"]))
        #expect(NamespaceSelector.name(String(id.prefix(12))).matches(anonymous, pids: [], containers: [id]))
        #expect(!NamespaceSelector.name("abab").matches(anonymous, pids: [], containers: [id]), "too short to stand for an id")
        #expect(!NamespaceSelector.host.matches(named, pids: [], containers: []))
        #expect(NamespaceSelector.host.matches(NetworkNamespace(inode: 1, name: "host", kind: .host), pids: [], containers: []))
    }

    @Test("nsfs mounts from mountinfo, with octal escapes; other nsfs kinds and filesystems are not namespaces of the network")
    func mounts() {
        let mountinfo = """
            22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw
            70 69 0:4 net:[4026532174] /run/netns/blue rw master:2 - nsfs nsfs rw
            71 69 0:4 net:[4026532239] /run/docker/netns/1f2e3d4c5b6a rw shared:9 - nsfs nsfs rw
            72 69 0:4 net:[4026532300] /srv/my\\040netns rw - nsfs nsfs rw
            73 69 0:4 uts:[4026532301] /srv/uts rw - nsfs nsfs rw
            74 69 0:4 net:[oops] /srv/bad rw - nsfs nsfs rw
            75 69 0:4 net:[4026532302]
            """
        let found = ProcessFiles.networkNamespaceMounts(mountinfo: Array(mountinfo.utf8))
        #expect(found.map(\.inode) == [4_026_532_174, 4_026_532_239, 4_026_532_300])
        #expect(found.map(\.mountPoint) == ["/run/netns/blue", "/run/docker/netns/1f2e3d4c5b6a", "/srv/my netns"])
    }

    static func entry(port: UInt16, namespace: NetworkNamespace?, owners: [SocketOwner] = []) -> InventoryEntry {
        var socket = SampleInventory.socket(.tcp, "0.0.0.0", port, inode: UInt64(port))
        socket.netns = namespace?.inode ?? 0
        var builder = InventoryBuilder(users: [:], ephemeralRange: nil, serviceName: { _, _ in nil })
        if let namespace { builder.namespaces = [namespace.inode: namespace] }
        return builder.entry(
            for: socket,
            owners: InventoryBuilder.OwnerContext(
                ownersByInode: [UInt64(port): owners], collected: true, someDenied: false, effectiveUID: 0, inChildPIDNamespace: false))
    }

    @Test("Listener identity: the host unscoped; a container by its name, not its namespace's inode")
    func identity() {
        let host = NetworkNamespace(inode: 1, name: "host", kind: .host, isOwn: true)
        #expect(ListenerKey(Self.entry(port: 80, namespace: host)).scope == nil)
        #expect(ListenerKey(Self.entry(port: 80, namespace: nil)).scope == nil)
        var web = SocketOwner(pid: 9, name: "nginx", fds: [3])
        web.containerReference = ContainerReference(runtime: .docker, id: String(repeating: "c", count: 64), name: "web")
        let before = Self.entry(port: 80, namespace: NetworkNamespace(inode: 100, name: nil, kind: .process), owners: [web])
        let restarted = Self.entry(port: 80, namespace: NetworkNamespace(inode: 200, name: nil, kind: .process), owners: [web])
        #expect(ListenerKey(before) == ListenerKey(restarted))
        #expect(ListenerKey(before).description == "tcp 0.0.0.0:80 in web")
        #expect(ListenerKey(before) != ListenerKey(Self.entry(port: 80, namespace: host)))
        let blue = Self.entry(port: 80, namespace: NetworkNamespace(inode: 300, name: "blue", kind: .named))
        #expect(ListenerKey(blue).scope == "blue")
        let anonymous = Self.entry(port: 80, namespace: NetworkNamespace(inode: 400, name: nil, kind: .process))
        #expect(ListenerKey(anonymous).scope == "netns:[400]")
    }

    @Test("A listener in another namespace is container network only; in portcullis's own, judged as before")
    func judgement() {
        let own = NetworkNamespace(inode: 1, name: "host", kind: .host, isOwn: true)
        let container = NetworkNamespace(inode: 100, name: "web", kind: .process)
        let redis = SocketOwner(pid: 5, name: "redis-server", exe: "/usr/bin/redis-server", uid: 0, user: "root", fds: [6])
        let report = Auditor.run(
            AuditInput(entries: [
                Self.entry(port: 6379, namespace: own, owners: [redis]), Self.entry(port: 6380, namespace: container, owners: [redis]),
            ]))
        let hostRedis = report.listeners[0]
        let containerRedis = report.listeners[1]
        #expect(hostRedis.reachable)
        #expect(!containerRedis.reachable)
        #expect(containerRedis.verdictReason == "container network only: network namespace web, not published on the host")
        #expect(containerRedis.findings.allSatisfy { $0.subject?.port != 6380 || $0.severity < .high })
    }

    @Test("Sockets in several namespaces get a NETNS column; JSON carries the namespace")
    func rendering() {
        let host = NetworkNamespace(inode: 1, name: "host", kind: .host, isOwn: true)
        let blue = NetworkNamespace(inode: 4_026_532_174, name: "blue", kind: .named)
        let entries = [Self.entry(port: 22, namespace: host), Self.entry(port: 80, namespace: blue)]
        let table = OutputSink.text { InventoryRenderer.writeTable(entries, allStates: false, style: TableStyle(color: false), to: &$0) }
        #expect(table.hasPrefix("NETNS  PROTO"))
        #expect(table.contains("\nblue   tcp    0.0.0.0:80"))
        // One namespace: no column for portcullis's own; a container's is named all the same.
        let own = OutputSink.text {
            InventoryRenderer.writeTable([entries[0]], allStates: false, style: TableStyle(color: false), to: &$0)
        }
        #expect(own.hasPrefix("PROTO"))
        let other = OutputSink.text {
            InventoryRenderer.writeTable([entries[1]], allStates: false, style: TableStyle(color: false), to: &$0)
        }
        #expect(other.hasPrefix("NETNS"))
        #expect(
            InventoryRenderer.json(entries[1]).serialized().contains(#""netns":{"inode":4026532174,"name":"blue","kind":"named"}"#))
    }

    @Test("An owner's container renders with its runtime, name, image, pod and published ports; the table names it")
    func containerRendering() {
        var web = SocketOwner(pid: 9, name: "nginx", fds: [3])
        web.container = String(repeating: "c", count: 64)
        web.containerReference = ContainerReference(
            runtime: .docker, id: web.container, name: "web", image: "nginx:1.27",
            pod: PodReference(uid: "u1", namespace: "prod", name: "web-0"),
            publishedPorts: [PublishedPort(containerPort: 80, portProtocol: .tcp, hostAddress: nil, hostPorts: 8080...8080)])
        let json = InventoryRenderer.json(web).serialized()
        #expect(json.contains(#""container_info":{"runtime":"docker","id":"cccccccccccc"#))
        #expect(
            json.contains(#""name":"web","image":"nginx:1.27","rootless_uid":null,"pod":{"uid":"u1","namespace":"prod","name":"web-0"}"#))
        #expect(
            json.contains(
                #""published_ports":[{"container_port":80,"protocol":"tcp","host_address":null,"host_port":8080,"host_port_end":8080}]"#))
        let entry = Self.entry(port: 80, namespace: nil, owners: [web])
        let table = OutputSink.text { InventoryRenderer.writeTable([entry], allStates: false, style: TableStyle(color: false), to: &$0) }
        #expect(table.contains("ctr:web"))
    }
}

@Suite("NETLINK_ROUTE address replies")
struct RouteNetlinkWireTests {
    /// One RTM_NEWADDR message: nlmsghdr, ifaddrmsg, then the attributes given.
    static func newAddress(family: UInt8, attributes: [(UInt16, [UInt8])]) -> [UInt8] {
        var body: [UInt8] = [family, 24, 0, 0, 2, 0, 0, 0]
        for (type, data) in attributes {
            let length = UInt16(4 + data.count)
            body += withUnsafeBytes(of: length.littleEndian, Array.init) + withUnsafeBytes(of: type.littleEndian, Array.init) + data
            while body.count % 4 != 0 { body.append(0) }
        }
        let total = UInt32(16 + body.count)
        return withUnsafeBytes(of: total.littleEndian, Array.init) + [20, 0, 2, 0] + [1, 0, 0, 0] + [0, 0, 0, 0] + body
    }

    @Test("Addresses of both families, IFA_LOCAL over IFA_ADDRESS; NLMSG_DONE ends; the request is 24 bytes")
    func decodes() throws {
        let v4 = Self.newAddress(family: 2, attributes: [(1, [10, 0, 0, 9]), (2, [10, 0, 0, 1])])
        let v6 = Self.newAddress(family: 10, attributes: [(1, [0xfd] + Array(repeating: 0, count: 14) + [2])])
        let done: [UInt8] = [20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let reply = RouteNetlinkWire.decode(v4 + v6 + done)
        #expect(reply.addresses == [try #require(IPAddress(parsing: "10.0.0.1")), try #require(IPAddress(parsing: "fd00::2"))])
        #expect(reply.isDone && reply.error == nil)
        #expect(RouteNetlinkWire.addressDumpRequest(sequence: 7).count == 24)
    }

    @Test("Truncated and lying lengths end the decoding without a crash")
    func hostile() {
        let v4 = Self.newAddress(family: 2, attributes: [(2, [10, 0, 0, 1])])
        for cut in 0..<v4.count { _ = RouteNetlinkWire.decode(Array(v4.prefix(cut))) }
        var lying = v4
        lying[24] = 0xff  // an attribute longer than its message
        #expect(RouteNetlinkWire.decode(lying).addresses.isEmpty)
        let error: [UInt8] = [20, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        #expect(RouteNetlinkWire.decode(error).error == 1)
    }
}
