import Foundation
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisScan
import PortcullisStore
import PortcullisTestSupport
import Testing

extension CLITests {
    /// The job entry points, called in-process as the server and an embedding
    /// app call them: typed options in, typed reports with diagnostics out.
    /// Inside CLITests (serialized): they read the whole host's sockets, like
    /// the subprocess tests, and must not run beside the hidden-port tests.
    @Suite("Jobs")
    struct JobsTests {
        /// A fresh directory for a history database, removed with the test.
        final class Scratch {
            let directory: String
            init() throws {
                directory = NSTemporaryDirectory() + "portcullis-jobs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            deinit { try? FileManager.default.removeItem(atPath: directory) }
            var database: String { directory + "/history.db" }
            func write(_ name: String, _ text: String) throws -> String {
                let path = directory + "/" + name
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
        }

        static let ownPID = getpid()

        @Test("inventory: the filter keeps our own listener, owned by this process")
        func inventoryFindsOwnListener() throws {
            let sockets = TestSockets()
            let port = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
            var filter = SocketFilter()
            filter.ports = try PortSpec(parsing: "\(port)")
            let report = try InventoryJob.run(InventoryJob.Options(filter: filter))
            #expect(report.entries.count == 1)
            let entry = try #require(report.entries.first)
            #expect(entry.socket.localPort == port)
            #expect(entry.exposure == .loopback)
            #expect(entry.owners.map(\.pid).contains(Self.ownPID))
            #expect(report.inventory.entries.count >= report.entries.count)
        }

        @Test("inventory: an unreadable proc root is a collection error, not a crash")
        func inventoryBadProcRoot() {
            #expect {
                _ = try InventoryJob.run(InventoryJob.Options(source: HostSource(procRoot: "/nonexistent-proc")))
            } throws: { error in
                guard let error = error as? JobError, case .collection = error else { return false }
                return !error.isUsageError && error.description.contains("/nonexistent-proc")
            }
        }

        @Test("who: our port is held by this process; a free port is not held")
        func whoHoldsPort() throws {
            let sockets = TestSockets()
            let port = try sockets.open(.udp, ipv6: false, address: "127.0.0.1")
            let held = try WhoJob.run(port: port, proto: .udp)
            #expect(held.who.isHeld)
            #expect(held.who.items.contains { $0.entry.owners.contains { $0.pid == Self.ownPID } })
            let free = try #require(currentlyFreePort())
            #expect(try !WhoJob.run(port: free, proto: .tcp).who.isHeld)
        }

        @Test("audit: a wildcard listener is judged reachable, a loopback one not")
        func auditJudgesExposure() throws {
            let sockets = TestSockets()
            let open = try sockets.open(.tcp, ipv6: false, address: "0.0.0.0")
            let local = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
            let report = try AuditJob.run(AuditJob.Options(policy: .none, judgeFirewall: false))
            func listener(_ port: UInt16) -> AuditedListener? { report.audit.listeners.first { $0.entry.socket.localPort == port } }
            let wide = try #require(listener(open))
            #expect(wide.reachable && wide.judgedExposure == .allInterfacesIPv4)
            let loopback = try #require(listener(local))
            #expect(!loopback.reachable && loopback.judgedExposure == .loopback)
            #expect(report.inventory.entries.contains { $0.socket.localPort == open })
        }

        /// A wildcard TCP listener on a kernel-chosen port: a port inside the
        /// ephemeral range, so the audit reports it (`ephemeral-listener`).
        func ephemeralListener(_ sockets: TestSockets) throws -> UInt16 {
            let port = try sockets.open(.tcp, ipv6: false, address: "0.0.0.0")
            let range = try #require(HostFiles.ephemeralRange(procRoot: "/proc"))
            try #require(range.contains(port), "the kernel chose \(port), outside its own ephemeral range \(range)")
            return port
        }

        @Test("audit: a policy allow entry suppresses the exposure finding of the port it allows")
        func auditAppliesPolicy() throws {
            let scratch = try Scratch()
            let sockets = TestSockets()
            let port = try ephemeralListener(sockets)
            let without = try AuditJob.run(AuditJob.Options(policy: .none, judgeFirewall: false))
            #expect(without.audit.findings.contains { $0.subject?.port == port && $0.rule == .ephemeralListener })
            let policy = try scratch.write("policy.yaml", "version: 1\nallow:\n  - port: \(port)\n    proto: tcp\n    exposure: any\n")
            let with = try AuditJob.run(AuditJob.Options(policy: .file(policy), judgeFirewall: false))
            #expect(!with.audit.findings.contains { $0.subject?.port == port && $0.rule == .ephemeralListener })
            #expect(with.audit.suppressed.contains { $0.finding.subject?.port == port && $0.reason.contains(policy) })
        }

        @Test("policy file errors are typed: unreadable, not UTF-8, invalid — all usage errors")
        func policyFileErrors() throws {
            let scratch = try Scratch()
            func reason(_ choice: PolicyChoice) -> PolicyFileError.Reason? {
                do { _ = try choice.load() } catch {
                    guard case .policy(let failure) = error else { return nil }
                    #expect(error.isUsageError)
                    return failure.reason
                }
                return nil
            }
            #expect(reason(.file(scratch.directory + "/missing.yaml")) == .unreadable(.noSuchFile))
            let binary = scratch.directory + "/binary.yaml"
            FileManager.default.createFile(atPath: binary, contents: Data([0xff, 0xfe, 0x00]))
            #expect(reason(.file(binary)) == .notUTF8)
            let invalid = try scratch.write("invalid.yaml", "version: 1\nallow: 7\n")
            guard case .invalid(let parse)? = reason(.file(invalid)) else {
                Issue.record("an invalid policy is not reported as invalid")
                return
            }
            #expect(parse.file == invalid && parse.line == 2)
            #expect(try PolicyChoice.none.load() == nil)
        }

        @Test("overview: a port filter narrows listeners and the findings about them; host-wide findings stay")
        func overviewNarrows() throws {
            let sockets = TestSockets()
            let shown = try ephemeralListener(sockets)
            let hidden = try ephemeralListener(sockets)
            var filter = SocketFilter()
            filter.ports = try PortSpec(parsing: "\(shown)")
            let report = try OverviewJob.run(
                OverviewJob.Options(audit: AuditJob.Options(policy: .none, judgeFirewall: false), filter: filter))
            #expect(report.entries.map(\.socket.localPort) == [shown])
            #expect(report.audit.findings.contains { $0.subject?.port == shown })
            #expect(!report.audit.findings.contains { $0.subject?.port == hidden })
            let inode = try #require(report.entries.first?.socket.inode)
            #expect(report.listener(inode: inode)?.findings.isEmpty == false)
            let full = try OverviewJob.run(OverviewJob.Options(audit: AuditJob.Options(policy: .none, judgeFirewall: false)))
            #expect(full.audit.findings.contains { $0.sockets.contains { $0.port == hidden } })
        }

        @Test("snapshot, baseline and diff: a listener opened after the baseline is added in the live diff")
        func snapshotAndDiff() throws {
            let scratch = try Scratch()
            let store = try HistoryLocation.open(path: scratch.database, mode: .readWrite)
            let audit = AuditJob.Options(policy: .none, judgeFirewall: false)
            let first = try SnapshotJob.take(into: store, label: "before", audit: audit)
            #expect(first.snapshot.label == "before")
            #expect(try store.snapshots().map(\.id) == [first.snapshot.id])

            #expect {
                _ = try DiffJob.run(in: store, audit: audit)
            } throws: { error in
                guard let error = error as? JobError, case .store(let store) = error else { return false }
                return store.code == .noBaseline && error.isUsageError
            }
            let baseline = try BaselineJob.set(in: store, snapshot: first.snapshot.id)
            #expect(baseline.baseline.snapshot.id == first.snapshot.id)

            let sockets = TestSockets()
            let port = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
            let live = try DiffJob.run(in: store, audit: audit)
            #expect(live.from.isBaseline && live.to.snapshot == nil)
            #expect(live.diff.added.contains { $0.key.localPort == port })

            let second = try SnapshotJob.take(into: store, label: nil, audit: audit)
            let stored = try DiffJob.run(in: store, from: .id(first.snapshot.id), to: .snapshot(.id(second.snapshot.id)))
            #expect(stored.diff.added.contains { $0.key.localPort == port })
            #expect(stored.diagnostics.isEmpty)
            let keys = try BaselineJob.listeners(in: store)
            #expect(keys.snapshotID == first.snapshot.id && !keys.keys.contains { $0.localPort == port })
        }

        @Test("snapshot references: ids and `baseline` parse; anything else is a usage error naming the argument")
        func snapshotReferences() throws {
            #expect(try SnapshotRef(parsing: "baseline", option: "FROM") == .baseline)
            #expect(try SnapshotRef(parsing: "12", option: "FROM") == .id(12))
            for word in ["0", "-3", "latest", ""] {
                #expect {
                    _ = try SnapshotRef(parsing: word, option: "TO")
                } throws: { error in
                    guard let error = error as? JobError, case .invalidInput(let message) = error else { return false }
                    return error.isUsageError && message.contains("'\(word)'") && message.contains("TO")
                }
            }
        }

        @Test("watch session: a listener opened after the first poll is one `opened` event; stop ends the session")
        func watchSessionYieldsEvents() throws {
            var options = WatchSession.Options()
            options.intervalMilliseconds = 100
            let polls = Locked(0)
            // Two polls, then stop, without waiting on the clock.
            options.sleep = { _ in
                polls.withLock { count in
                    count += 1
                    return count > 2
                }
            }
            let session = try WatchSession(options)
            #expect(session.listenerCount > 0 || session.socketCount == 0)
            let sockets = TestSockets()
            let port = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
            var events: [WatchEvent] = []
            while let batch = try session.next() { events += batch }
            session.finish()
            let opened = events.filter { $0.kind == .opened && $0.listener.key.localPort == port }
            #expect(opened.count == 1)
            #expect(opened.first?.listener.owners.contains { $0.pid == Self.ownPID } == true)
        }

        @Test("scan plan: bad targets and port lists are usage errors; a plan names its hosts and ports")
        func scanPlanning() throws {
            let services = ServiceTable(etcServices: [], nmapServices: nil)
            var request = ScanJob.Request()
            request.targets = ["127.0.0.1"]
            request.ports = "22,80"
            let plan = try ScanJob.plan(request, services: services)
            #expect(plan.hosts.count == 1 && plan.tcpPorts == [22, 80] && plan.udpPorts.isEmpty)

            func usageError(_ change: (inout ScanJob.Request) -> Void) -> Bool {
                var bad = request
                change(&bad)
                do { _ = try ScanJob.plan(bad, services: services) } catch { return error.isUsageError }
                return false
            }
            #expect(usageError { $0.targets = ["300.1.1.1"] })
            #expect(usageError { $0.ports = "70000" })
            #expect(usageError { $0.excludes = ["127.0.0.1"] })
            #expect(usageError { $0.inputFile = "/nonexistent/targets" })
            #expect(usageError { $0.ports = "U:53" })  // TCP only, and the list names only UDP
        }

        @Test("scan options: the job's defaults are the CLI's (nmap's UDP payloads; the answer wait bounds the first one)")
        func scanDefaults() {
            var options = ScanJob.Options()
            #expect(!options.engine.udpPayload(53).isEmpty, "a DNS query for port 53")
            #expect(options.engine.udpPayload(53) == UDPPayloads.payload(for: 53))
            options.limitAnswerWait(milliseconds: 300)
            #expect(options.engine.maxTimeoutMilliseconds == 300 && options.engine.initialTimeoutMilliseconds == 300)
            options.limitAnswerWait(milliseconds: 5000)
            #expect(options.engine.initialTimeoutMilliseconds == 1000)
        }

        @Test("scan run: an open loopback port is open, a closed one closed, named from the table")
        func scanRun() throws {
            let sockets = TestSockets()
            let open = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
            let closed = try #require(currentlyFreePort())
            var request = ScanJob.Request()
            request.targets = ["127.0.0.1"]
            request.ports = "\(open),\(closed)"
            let services = ServiceTable(etcServices: Array("pc-test \(open)/tcp\n".utf8), nmapServices: nil)
            let plan = try ScanJob.plan(request, services: services)
            let report = ScanJob.run(plan, services: services, options: ScanJob.Options())
            let ports = try #require(report.hosts.first).ports
            #expect(ports.first { $0.port == open }?.state == .open)
            #expect(ports.first { $0.port == open }?.service?.name == "pc-test")
            #expect(ports.first { $0.port == closed }?.state == .closed)
        }

        @Test("policy starter: allows our wildcard listener at the exposure the audit judges")
        func policyStarter() throws {
            let sockets = TestSockets()
            let port = try sockets.open(.tcp, ipv6: false, address: "0.0.0.0")
            let report = try PolicyStarterJob.run(judgeFirewall: false)
            #expect(report.listenerCount > 0)
            #expect(report.text.contains("  - port: \(port)\n    proto: tcp\n"))
            let policy = try Policy.parse(report.text, file: "starter")
            #expect(!policy.allow.isEmpty)
        }

        @Test("hidden: a narrow check of our own listener's port finds nothing hidden")
        func hiddenNarrowCheck() throws {
            let sockets = TestSockets()
            let port = try sockets.open(.tcp, ipv6: false, address: "127.0.0.1")
            var options = HiddenPortCheck.Options()
            options.rounds = 1
            options.protocols = [.tcp]
            options.ports = port...port
            let report = try HiddenJob.run(options)
            #expect(!report.findings.contains { $0.key?.port == port })
        }
    }
}
