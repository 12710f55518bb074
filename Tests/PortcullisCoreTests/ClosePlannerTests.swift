import Testing

@testable import PortcullisCore

/// The close planner's rules, on facts written by hand: the socket unit that
/// outlives its service, the method order, what comes back by itself, and
/// the refusals.
@Suite struct ClosePlannerTests {
    static func listener(_ port: UInt16, inode: UInt64, pids: [Int32], proto: TransportProtocol = .tcp) -> CloseSocket {
        CloseSocket(
            record: SocketRecord(
                proto: proto, family: .ipv4, localAddress: .anyV4, localPort: port, remoteAddress: .anyV4, remotePort: 0,
                stateCode: proto == .tcp ? SocketState.listen.rawValue : 7, inode: inode, uid: 0),
            holders: pids)
    }

    static func connection(_ port: UInt16, inode: UInt64, pid: Int32) -> CloseSocket {
        CloseSocket(
            record: SocketRecord(
                proto: .tcp, family: .ipv4, localAddress: IPAddress(v4: 10, 0, 0, 1), localPort: port,
                remoteAddress: IPAddress(v4: 10, 0, 0, 9), remotePort: 50122, stateCode: SocketState.established.rawValue, inode: inode,
                uid: 0),
            holders: [pid])
    }

    /// A pre-forked server: master 100 and workers 101, 102 share one listener.
    static func preforked(unit: String? = nil) -> CloseFacts {
        var facts = CloseFacts(port: 8080, proto: .tcp, namespace: "host")
        facts.sockets = [listener(8080, inode: 555, pids: [100, 101, 102])]
        facts.holders = [
            CloseProcess(pid: 100, ppid: 1, name: "web", startTicks: 10, unit: unit, inodes: [555]),
            CloseProcess(pid: 101, ppid: 100, name: "web", startTicks: 11, unit: unit, inodes: [555]),
            CloseProcess(pid: 102, ppid: 100, name: "web", startTicks: 12, unit: unit, inodes: [555]),
        ]
        return facts
    }

    @Test func preforkedServerGetsOneSigtermToItsMaster() {
        var facts = Self.preforked()
        facts.unavailable[.unit] = "systemd is not running"
        let plan = ClosePlanner.plan(facts, CloseRequest(graceMilliseconds: 2000))
        #expect(plan.method == .process)
        #expect(plan.leaders.map(\.pid) == [100])
        #expect(plan.commonParent?.pid == 100)
        #expect(plan.steps == [.signal(leaders: [facts.holders[0]], holders: facts.holders, graceMilliseconds: 2000)])
        #expect(plan.steps[0].summary.contains("SIGKILL to any of pid 100, pid 101, pid 102"))
        #expect(plan.refusals.isEmpty)
        // Not carried out through a unit: systemd is not running, and the reason says so.
        #expect(plan.reason.contains("not unit: systemd is not running"))
    }

    @Test func siblingsWithoutAHoldingParentAreEachLeadersUnderTheirCommonParent() {
        var facts = Self.preforked()
        facts.holders[0].inodes = []
        facts.holders.removeFirst()
        facts.parents[100] = CloseProcess(pid: 100, ppid: 1, name: "supervisor", startTicks: 0)
        let plan = ClosePlanner.plan(facts)
        #expect(plan.leaders.map(\.pid) == [101, 102])
        #expect(plan.commonParent?.name == "supervisor")
    }

    /// systemd#3043: stopping a socket-activated service leaves its socket
    /// unit listening, so the socket unit is stopped too, and first.
    @Test func stoppingASocketActivatedServiceStopsItsSocketUnitFirst() {
        var facts = Self.preforked(unit: "web.service")
        facts.units["web.service"] = UnitState(
            name: "web.service", unitFileState: "enabled", restart: "always", triggeredBy: ["web.socket"])
        facts.units["web.socket"] = UnitState(name: "web.socket", unitFileState: "enabled")
        let plan = ClosePlanner.plan(facts, CloseRequest(mask: true))
        #expect(plan.method == .unit)
        #expect(plan.units == ["web.socket", "web.service"])
        // systemd#4708: masking the service alone does not stop the socket; both are masked.
        #expect(plan.steps == [.stopUnits(["web.socket", "web.service"]), .maskUnits(["web.socket", "web.service"])])
        #expect(plan.comesBack.isEmpty)
    }

    @Test func aSocketUnitHeldByPidOneIsClosedThroughTheUnitNotByKillingInit() {
        var facts = CloseFacts(port: 631, proto: .tcp, namespace: "host")
        facts.sockets = [Self.listener(631, inode: 9, pids: [1])]
        facts.holders = [CloseProcess(pid: 1, ppid: 0, name: "systemd", startTicks: 1, unit: "init.scope", inodes: [9])]
        facts.socketUnits = [SocketUnit(name: "cups.socket", listen: "[::]:631", activates: ["cups.service"])]
        facts.units["cups.socket"] = UnitState(name: "cups.socket", unitFileState: "enabled")
        let plan = ClosePlanner.plan(facts)
        #expect(plan.method == .unit)
        #expect(plan.steps == [.stopUnits(["cups.socket", "cups.service"])])
        #expect(plan.comesBack == ["cups.socket is enabled: it starts again at the next boot (add --disable, or --mask)"])
        #expect(plan.refusals.isEmpty)

        // Forced onto signals, pid 1 is refused unless --force.
        let signalled = ClosePlanner.plan(facts, CloseRequest(method: .process))
        #expect(signalled.refusals.map(\.kind) == [.pidOne])
        #expect(!signalled.blockingRefusals.isEmpty)
        #expect(ClosePlanner.plan(facts, CloseRequest(method: .process, force: true)).blockingRefusals.isEmpty)
    }

    @Test func restartPoliciesAreNamedAsWhatComesBack() {
        var facts = Self.preforked(unit: "web.service")
        facts.units["web.service"] = UnitState(name: "web.service", restart: "always", triggeredBy: ["web.socket"])
        let plan = ClosePlanner.plan(facts, CloseRequest(method: .process))
        #expect(plan.comesBack.contains { $0.contains("systemd restarts web.service (Restart=always) as soon as it exits") })
        #expect(plan.comesBack.contains { $0.hasPrefix("web.socket keeps listening") })

        facts.units["web.service"]?.restart = "on-failure"
        #expect(ClosePlanner.plan(facts, CloseRequest(method: .process)).comesBack.contains { $0.contains("if it has to be killed") })
    }

    @Test func containersAreStoppedWithTheirRestartPolicyOffFirst() {
        var facts = Self.preforked()
        let id = String(repeating: "ab", count: 32)
        for i in facts.holders.indices { facts.holders[i].container = id }
        facts.containers = [CloseContainer(id: id, name: "shop", runtime: "docker", restartPolicy: "always")]
        facts.unavailable[.unit] = "systemd is not running"
        let plan = ClosePlanner.plan(facts)
        #expect(plan.method == .container)
        #expect(plan.steps == [.disableContainerRestart(facts.containers[0]), .stopContainer(facts.containers[0])])
        #expect(plan.steps.map(\.summary) == ["docker update --restart=no shop", "docker stop shop"])

        // Without the docker CLI the container is not stopped behind the runtime's back by default: signals instead.
        facts.unavailable[.container] = "docker is not installed"
        #expect(ClosePlanner.plan(facts).method == .process)
        #expect(ClosePlanner.plan(facts).comesBack.contains { $0.contains("docker restarts container shop") })
    }

    @Test func aPortOnlyADNATRulePublishesIsClosedByTheFirewall() {
        var facts = CloseFacts(port: 8080, proto: .tcp, namespace: "host")
        facts.publications = [
            PortPublication(
                tool: .docker, proto: .tcp, family: .ipv4, hostAddress: nil, hostPorts: 8080...8080,
                target: PublishedTarget(address: IPAddress(v4: 172, 17, 0, 2), ports: 80...80))
        ]
        let plan = ClosePlanner.plan(facts)
        #expect(plan.method == .firewall)
        #expect(plan.steps == [.firewallDrop(proto: [.tcp], port: 8080)])
        #expect(plan.reason.contains("only a firewall rule that acts before DNAT closes it"))
        #expect(plan.notes.first?.contains("172.17.0.2:80") == true)
        #expect(ClosePlanner.plan(facts, CloseRequest(method: .process)).refusals.map(\.kind) == [.methodNotApplicable])
    }

    @Test func theSessionsOwnPortIsRefusedUnlessForced() {
        var facts = Self.preforked()
        facts.port = 22
        facts.sessionPorts = [22]
        facts.sessionEvidence = ["SSH_CONNECTION says this session came in on port 22"]
        let plan = ClosePlanner.plan(facts)
        #expect(plan.refusals.map(\.kind) == [.sessionPort])
        #expect(plan.blockingRefusals.count == 1)
        #expect(plan.refusals[0].reason.contains("SSH_CONNECTION"))
        #expect(ClosePlanner.plan(facts, CloseRequest(force: true)).blockingRefusals.isEmpty)
        // Another port of the same host is not the session's.
        facts.port = 8080
        #expect(ClosePlanner.plan(facts).refusals.isEmpty)
    }

    @Test func aMethodThatCannotRunHereIsRefusedEvenWithForce() {
        var facts = Self.preforked()
        facts.unavailable[.firewall] = "nft (nftables) is not installed"
        let plan = ClosePlanner.plan(facts, CloseRequest(method: .firewall, force: true))
        #expect(plan.blockingRefusals.map(\.kind) == [.methodUnavailable])
    }

    @Test func destroyTakesOnlyEstablishedConnectionsAndSaysTheListenerStays() {
        var facts = Self.preforked()
        facts.sockets.append(Self.connection(8080, inode: 777, pid: 101))
        let plan = ClosePlanner.plan(facts, CloseRequest(method: .destroy))
        #expect(plan.steps == [.destroySockets([facts.sockets[1]])])
        #expect(plan.comesBack.contains { $0.contains("the listener stays bound") })
        #expect(plan.notes.contains { $0.contains("EADDRINUSE") })
        facts.sockets.removeLast()
        #expect(ClosePlanner.plan(facts, CloseRequest(method: .destroy)).refusals.map(\.kind) == [.methodNotApplicable])
    }

    @Test func nothingHoldingThePortIsNothingToDo() {
        let plan = ClosePlanner.plan(CloseFacts(port: 9, proto: nil, namespace: "lab"))
        #expect(plan.nothingToClose)
        #expect(plan.method == nil)
        #expect(plan.reason == "nothing in namespace lab holds or publishes 9: it is closed already")
    }

    @Test func graceIsPrintedAsTyped() {
        #expect(CloseRequest.formatMilliseconds(5000) == "5 s")
        #expect(CloseRequest.formatMilliseconds(300) == "300 ms")
        #expect(CloseRequest.formatMilliseconds(1500) == "1.5 s")
        #expect(CloseRequest.formatMilliseconds(2050) == "2.05 s")
    }
}

/// The tools' text `close` reads, in the shapes they print.
@Suite struct SystemctlTextTests {
    @Test func showBlocksBecomeUnitStates() {
        let text = """
            Id=web.service
            LoadState=loaded
            ActiveState=active
            UnitFileState=enabled
            Restart=on-failure
            TriggeredBy=web.socket other.path

            Id=web.socket
            LoadState=loaded
            ActiveState=active
            UnitFileState=disabled
            Restart=
            TriggeredBy=

            """
        let units = SystemctlText.parseShow(text)
        #expect(units.count == 2)
        #expect(
            units[0]
                == UnitState(
                    name: "web.service", unitFileState: "enabled", restart: "on-failure", triggeredBy: ["web.socket", "other.path"]))
        #expect(units[0].restartsAfterKill && !units[0].restartsAfterTerm)
        #expect(units[1].triggeredBy.isEmpty && !units[1].isEnabled)
    }

    @Test func listSocketsRowsKeepOnlyWhatTheyNamed() {
        let text = """
            /run/dbus/system_bus_socket dbus.socket           dbus.service
            [::]:22                     ssh.socket            ssh.service
            0.0.0.0:8080                web.socket            web.service, web-admin.service
            garbage line
            """
        let units = SystemctlText.parseListSockets(text)
        #expect(units.map(\.name) == ["dbus.socket", "ssh.socket", "web.socket"])
        #expect(units.map(\.port) == [nil, 22, 8080])
        #expect(units[2].activates == ["web.service", "web-admin.service"])
    }

    @Test func echoedHandles() {
        #expect(
            SystemctlText.echoedHandle("add rule inet portcullis output tcp dport 80 counter packets 0 bytes 0 drop # handle 17\n") == 17)
        #expect(SystemctlText.echoedHandle("add rule inet portcullis output drop comment \"# handle 3\" # handle 4") == 4)
        #expect(SystemctlText.echoedHandle("no handle here") == nil)
    }
}

/// The journal document round-trips, and a damaged one is refused with a reason.
@Suite struct CloseJournalDocumentTests {
    @Test func everyUndoKindRoundTrips() throws {
        let container = CloseContainer(id: "abc", name: "shop", runtime: "podman", restartPolicy: "always")
        let undos: [CloseUndo] = [
            .deleteRules([NftRuleHandle(chain: "prerouting", handle: 4), NftRuleHandle(chain: "output", handle: 5)]),
            .startUnits(["web.socket", "web.service"]), .enableUnits(["web.service"]), .unmaskUnits(["web.socket"]),
            .restoreRestartPolicy(container, policy: "always"), .startContainer(container), .irreversible("start it again by hand"),
        ]
        let record = CloseRecord(
            target: "8080/tcp", namespace: "lab", method: .unit,
            outcomes: [CloseStepOutcome(kind: "stop_units", summary: "systemctl stop web.service", status: .done, detail: "", undo: undos)])
        let back = try CloseRenderer.record(fromJournal: CloseRenderer.journalDocument(record))
        #expect(back == record)
        #expect(back.undos.first == .irreversible("start it again by hand"))
    }

    @Test func damagedDocumentsAreRefused() {
        for text in [
            "", "{}", "{\"format\":2}", "{\"format\":1,\"target\":\"1\",\"namespace\":\"h\",\"method\":\"unit\",\"steps\":[{}]}",
            "{\"format\":1,\"target\":\"1\",\"namespace\":\"h\",\"method\":\"unit\",\"steps\":[{\"kind\":\"x\",\"summary\":\"s\",\"status\":\"done\",\"undo\":[{\"kind\":\"rm -rf\"}]}]}",
        ] {
            #expect(throws: CloseRenderer.DocumentError.self) { try CloseRenderer.record(fromJournal: text) }
        }
    }
}

/// When `close` calls a port closed (exit 0) and when not (exit 6).
@Suite struct CloseResultTests {
    static let done = CloseStepOutcome(kind: "signal", summary: "s", status: .done, detail: "")

    @Test func closedOnlyWhenVerifiedAndNoStepFailed() {
        let free = CloseVerification(status: .free, detail: "")
        #expect(CloseResult(journalID: 1, outcomes: [Self.done], verification: free, elapsedMilliseconds: 1).closedAsPromised)
        let open = CloseVerification(status: .stillOpen, detail: "")
        #expect(!CloseResult(journalID: 1, outcomes: [Self.done], verification: open, elapsedMilliseconds: 1).closedAsPromised)
        #expect(!CloseResult(journalID: 1, outcomes: [Self.done], verification: nil, elapsedMilliseconds: 1).closedAsPromised)
        var failed = Self.done
        failed.status = .failed
        #expect(!CloseResult(journalID: 1, outcomes: [Self.done, failed], verification: free, elapsedMilliseconds: 1).closedAsPromised)
    }
}
