import Foundation
import Testing

@testable import PortcullisCore

/// Golden-file tests of every output format (Snapshots/<test>.<ext>);
/// re-record with RECORD_SNAPSHOTS=1 after an intended change.
@Suite struct RendererTests {
    let inventory = SampleInventory.inventory()

    @Test func table() throws {
        let out = OutputSink.text {
            InventoryRenderer.writeTable(inventory.entries, allStates: true, style: TableStyle(color: false), to: &$0)
        }
        try TestFiles.assertSnapshot(out, named: "table.txt")
        #expect(!out.contains("\u{1b}"))
    }

    @Test func tableWithVerdictsInColour() throws {
        // The overview command's own table: the audited listeners, each
        // painted in its verdict's colour (green ok, none for open, yellow
        // medium, red high), never colours the test picks.
        let listeners = Auditor.run(AuditInput(entries: inventory.entries)).listeners
        let out = OutputSink.text { InventoryRenderer.writeOverviewTable(listeners, style: TableStyle(color: true), to: &$0) }
        try TestFiles.assertSnapshot(out, named: "table-verdicts-colour.txt")
        let rows = out.split(separator: "\n").map(String.init)
        func row(_ local: String) -> String? { rows.first { $0.contains(" \(local) ") } }
        #expect(row("0.0.0.0:7777")?.hasPrefix("\u{1b}[31m") == true, "high: red")
        #expect(row("127.0.0.1:631")?.hasPrefix("\u{1b}[33m") == true, "medium: yellow")
        #expect(row("[::ffff:127.0.0.1]:5432")?.hasPrefix("\u{1b}[32m") == true, "ok: green")
        #expect(row("0.0.0.0:22")?.hasPrefix("tcp ") == true, "open: no colour")
        // The owner's name came from raw /proc/PID/stat bytes holding a
        // newline and an ANSI escape (SampleInventory.evil): the only escape
        // sequences are the ones portcullis wrote, at the start and end of rows.
        #expect(!out.contains("kworker\n"))
        #expect(!out.contains("kworker\u{1b}"))
        #expect(out.contains("kworker\\n\\x1b[31m"))
        for line in rows {
            var inner = line
            if inner.hasPrefix("\u{1b}[") { inner = String(inner.drop { $0 != "m" }.dropFirst()) }
            if inner.hasSuffix("\u{1b}[0m") { inner = String(inner.dropLast(4)) }
            #expect(!inner.contains("\u{1b}"), "an escape inside a row: \(line.debugDescription)")
        }
    }

    @Test func drainingSinkWritesTheSameBytesInChunks() {
        // A tiny chunk size forces a drain inside almost every write: the
        // chunks, joined, are exactly what a keeping sink holds.
        let entries = Array(repeating: inventory.entries, count: 50).flatMap { $0 }
        let kept = OutputSink.text { InventoryRenderer.writeJSON(inventory, entries: entries, to: &$0) }
        var chunks: [[UInt8]] = []
        var sink = OutputSink(chunkSize: 512) { chunks.append($0) }
        InventoryRenderer.writeJSON(inventory, entries: entries, to: &sink)
        #expect(sink.bytes.count < 512 * 2, "drained as it filled, not at the end")
        sink.finish()
        #expect(sink.bytes.isEmpty)
        #expect(chunks.count > 10)
        #expect(String(decoding: chunks.flatMap { $0 }, as: UTF8.self) == kept)
    }

    @Test func json() throws {
        let out = OutputSink.text { InventoryRenderer.writeJSON(inventory, entries: inventory.entries, to: &$0) }
        try TestFiles.assertSnapshot(out, named: "inventory.json")
        // It is valid JSON with the documented fields.
        let parsed = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        let sockets = try #require(parsed?["sockets"] as? [[String: Any]])
        #expect(sockets.count == inventory.entries.count)
        let documented = [
            "proto", "family", "local_address", "local_port", "remote_address", "remote_port", "state",
            "inode", "uid", "port_class", "service", "exposure", "owners", "v6only", "unowned_reason",
        ]
        for key in documented { #expect(sockets[0].keys.contains(key), "missing \(key)") }
        let owner = try #require((sockets[0]["owners"] as? [[String: Any]])?.first)
        for key in ["pid", "ppid", "name", "cmdline", "exe", "exe_deleted", "user", "unit", "container"] {
            #expect(owner.keys.contains(key), "missing owner field \(key)")
        }
    }

    @Test func ndjsonIsOneObjectPerLine() throws {
        let out = OutputSink.text { InventoryRenderer.writeNDJSON(inventory.entries, to: &$0) }
        let lines = out.split(separator: "\n")
        #expect(lines.count == inventory.entries.count)
        for line in lines { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
        try TestFiles.assertSnapshot(out, named: "inventory.ndjson")
    }

    @Test func csv() throws {
        let out = OutputSink.text { InventoryRenderer.writeCSV(inventory.entries, to: &$0) }
        try TestFiles.assertSnapshot(out, named: "inventory.csv")
        #expect(out.hasPrefix("proto,family,local_address,local_port,"))
        #expect(out.components(separatedBy: "\r\n").count == inventory.entries.count + 2)
    }

    @Test func csvDefusesFormulas() {
        #expect(
            CSV.row(["=cmd|' /C calc'!A0", "a,b", "say \"hi\"", "-1", "plain"])
                == "'=cmd|' /C calc'!A0,\"a,b\",\"say \"\"hi\"\"\",'-1,plain\r\n")
    }

    @Test func jsonStringsEscapeEverything() {
        #expect(JSONValue.string("a\"b\\c\n\u{1}\u{7f}é").serialized() == "\"a\\\"b\\\\c\\n\\u0001\\u007fé\"")
    }

    @Test func who() throws {
        let entry = try #require(SampleInventory.entry(port: 80))
        let ancestors = Dictionary(
            uniqueKeysWithValues: entry.owners.map {
                (
                    $0.pid,
                    [
                        SocketOwner(
                            pid: 1000, ppid: 1, name: "nginx", cmdline: "nginx: master process", user: "root", unit: "nginx.service"),
                        SocketOwner(pid: 1, ppid: 0, name: "systemd", cmdline: "/sbin/init", user: "root", unit: "init.scope"),
                    ]
                )
            })
        let report = WhoReport(port: 80, proto: .tcp, items: [WhoReport.Item(entry: entry, role: .local, ancestors: ancestors)])
        try TestFiles.assertSnapshot(
            OutputSink.text { InventoryRenderer.writeWho(report, style: TableStyle(color: false), to: &$0) }, named: "who.txt")
        try TestFiles.assertSnapshot(InventoryRenderer.json(report).serialized(pretty: true), named: "who.json")
        #expect(
            OutputSink.text {
                InventoryRenderer.writeWho(WhoReport(port: 9, proto: nil, items: []), style: TableStyle(color: false), to: &$0)
            }
                == "Nothing holds port 9.\n")
    }

    @Test func explain() throws {
        let services = ServiceTable(etcServices: "ssh\t\t22/tcp\nredis\t\t6379/tcp\n")
        let reports = try ExplainReport.build(query: "6379", services: services, ephemeralRange: 32768...60999)
        try TestFiles.assertSnapshot(
            OutputSink.text { ExplainRenderer.writeText(reports, ephemeralRange: 32768...60999, style: TableStyle(color: false), to: &$0) },
            named: "explain-6379.txt")
        try TestFiles.assertSnapshot(
            JSONValue.array(reports.map { ExplainRenderer.json($0) }).serialized(pretty: true), named: "explain-6379.json")
    }
}
