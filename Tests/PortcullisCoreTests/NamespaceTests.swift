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
}
