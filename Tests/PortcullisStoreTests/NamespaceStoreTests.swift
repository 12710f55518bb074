import Foundation
import PortcullisCore
import Testing

@testable import PortcullisStore

@Suite("History store: namespaces and containers (schema v2)")
struct NamespaceStoreTests {
    @Test("A socket's namespace and an owner's container read back as they were stored")
    func roundTrip() throws {
        let scratch = try Scratch()
        let store = try HistoryStore(path: scratch.db)
        var content = Samples.content()
        content.entries[0].namespace = NetworkNamespace(inode: 4_026_532_174, name: "web", kind: .process)
        content.entries[0].socket.netns = 4_026_532_174
        content.entries[0].owners[0].containerReference = ContainerReference(
            runtime: .docker, id: content.entries[0].owners[0].container, name: "web", image: "nginx:1.27",
            pod: PodReference(uid: "1234", namespace: "default", name: "web-0"))
        let info = try store.saveSnapshot(content, time: 1_764_000_000, label: nil, hostname: "h", source: "netlink")
        let back = try store.content(of: info.id)
        #expect(back.entries[0].namespace == content.entries[0].namespace)
        #expect(back.entries[0].socket.netns == 4_026_532_174)
        let container = try #require(back.entries[0].owners[0].containerReference)
        #expect(container.runtime == .docker && container.name == "web" && container.image == "nginx:1.27")
        #expect(container.pod == PodReference(uid: "1234", namespace: "default", name: "web-0"))
        #expect(back.entries[1].namespace == nil)
        #expect(ListenerKey(back.entries[0]).scope == "web")
    }

    @Test("A version 1 database is migrated; its snapshots read as the host's, unscoped")
    func migratesVersionOne() throws {
        let scratch = try Scratch()
        do {
            let queue = try SQLiteQueue(path: scratch.db)
            try HistoryStore.migrator.migrate(queue, upTo: "v1 snapshots, baselines, events")
            try queue.write { db in
                try db.execute(
                    """
                    INSERT INTO snapshot (id, taken_at, label, hostname, source, format, listener_count, finding_count, diagnostics)
                      VALUES (1, 1764000000, 'old', 'h', 'netlink', 1, 1, 0, '[]');
                    INSERT INTO snapshot_socket (snapshot_id, position, proto, family, local_address, local_port, remote_address,
                      remote_port, state, inode, uid, user, v6only, interface_index, raw_protocol, receive_queue, send_queue,
                      port_class, in_ephemeral_range, service, exposure, unowned_reason, owners)
                      VALUES (1, 0, 'tcp', 'ipv4', '0.0.0.0', 22, '0.0.0.0', 0, 10, 77, 0, 'root', NULL, 0, NULL, 0, 128,
                      'system', 0, 'ssh', 'all_interfaces_ipv4', 'not_permitted', '');
                    """)
            }
            #expect(try queue.read { try $0.value("PRAGMA user_version") as Int? } == 1)
        }
        let store = try HistoryStore(path: scratch.db)
        #expect(try store.queue.read { try $0.value("PRAGMA user_version") as Int? } == HistoryStore.schemaVersion)
        let old = try store.content(of: 1)
        #expect(old.entries.count == 1)
        #expect(old.entries[0].namespace == nil)
        #expect(ListenerKey(old.entries[0]).scope == nil)
        #expect(try store.integrityCheck() == ["ok"])
    }
}
