import Foundation
import Testing

/// Real Redis, memcached and snmpd bound to a non-loopback address inside a
/// network namespace the test makes (a veth pair with both ends in it), so
/// the audit sees them reachable beyond loopback; stopped by pid and the
/// namespace deleted at the end.
final class ProbeNamespace {
    let name: String
    let address = "192.0.2.1"
    let scratch: String
    private var pidFiles: [String] = []

    static let redis = Host.executable("redis-server", preferring: ["/usr/bin/redis-server"])
    static let memcached = Host.executable("memcached", preferring: ["/usr/bin/memcached"])
    static let snmpd = Host.executable("snmpd", preferring: ["/usr/sbin/snmpd"])
    static let canRun =
        Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil && redis != nil && memcached != nil && snmpd != nil && Host.ss != nil
        && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil

    /// - Parameter locked: Redis with `requirepass`, memcached with an `--auth-file`, snmpd with a community other than `public`.
    init(locked: Bool) throws {
        let tag = "\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        name = "pc-probe-\(tag)"
        scratch = NSTemporaryDirectory() + "/portcullis-probe-\(tag)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        // memcached writes its pid file after dropping to nobody.
        chmod(scratch, 0o777)
        let (a, b) = ("pva\(tag.suffix(5))", "pvb\(tag.suffix(5))")
        for command in [
            ["ip", "netns", "add", name], ["ip", "-n", name, "link", "set", "lo", "up"],
            ["ip", "-n", name, "link", "add", a, "type", "veth", "peer", "name", b],
            ["ip", "-n", name, "addr", "add", "\(address)/24", "dev", a],
            ["ip", "-n", name, "link", "set", a, "up"], ["ip", "-n", name, "link", "set", b, "up"],
        ] {
            try TestNamespace.must(command)
        }
        var redisCommand = [
            try #require(Self.redis), "--bind", address, "--port", "6379", "--protected-mode", "no", "--save", "", "--appendonly", "no",
            "--dir", scratch, "--daemonize", "yes", "--pidfile", scratch + "/redis.pid", "--logfile", scratch + "/redis.log",
        ]
        // Protected mode, no password, on every address: loopback clients
        // are served, other hosts refused; the probe must see what they see.
        let protectedRedisCommand = [
            try #require(Self.redis), "--bind", "0.0.0.0", "--port", "6380", "--protected-mode", "yes", "--save", "", "--appendonly",
            "no", "--dir", scratch, "--daemonize", "yes", "--pidfile", scratch + "/redis-protected.pid", "--logfile",
            scratch + "/redis-protected.log",
        ]
        var memcachedCommand = [
            try #require(Self.memcached), "-l", address, "-p", "11211", "-U", "0", "-u", "nobody", "-d", "-P", scratch + "/memcached.pid",
        ]
        if locked {
            redisCommand += ["--requirepass", "probe-\(tag)"]
            try "probe:secret-\(tag)\n".write(toFile: scratch + "/memcached.auth", atomically: true, encoding: .utf8)
            chmod(scratch + "/memcached.auth", 0o644)
            memcachedCommand += ["-Y", scratch + "/memcached.auth"]
        }
        try "agentaddress udp:\(address):161\nrocommunity \(locked ? "s3cret-\(tag)" : "public")\n".write(
            toFile: scratch + "/snmpd.conf", atomically: true, encoding: .utf8)
        let snmpdCommand = [
            try #require(Self.snmpd), "-C", "-c", scratch + "/snmpd.conf", "-p", scratch + "/snmpd.pid", "-Lf", scratch + "/snmpd.log",
            "-r",
        ]
        for (command, pidFile) in [
            (redisCommand, "redis.pid"), (protectedRedisCommand, "redis-protected.pid"), (memcachedCommand, "memcached.pid"),
            (snmpdCommand, "snmpd.pid"),
        ] {
            pidFiles.append(scratch + "/" + pidFile)
            // Through python's subprocess, which closes inherited descriptors: the daemon must not
            // hold Subprocess's pipes, or the call waits for it to exit.
            let launcher =
                "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, "
                + "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))"
            try TestNamespace.must([try #require(Host.python3), "-c", launcher, "ip", "netns", "exec", name] + command)
        }
        // Ready when all three listen.
        let deadline = Date().addingTimeInterval(20)
        while true {
            let listening = String(
                decoding: try Subprocess.run(
                    "/usr/bin/env", ["ip", "netns", "exec", name, "ss", "-Hlntu"], environment: [:], timeout: 30
                ).stdout, as: UTF8.self)
            if listening.contains("\(address):6379") && listening.contains("0.0.0.0:6380") && listening.contains("\(address):11211")
                && listening.contains("\(address):161")
            {
                break
            }
            if Date() > deadline { throw FixtureFailure("the daemons did not start in \(name): \(listening)") }
            usleep(50_000)
        }
    }

    deinit {
        for file in pidFiles {
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(pid, SIGKILL)
            }
        }
        _ = try? Subprocess.run("/usr/bin/env", ["ip", "netns", "delete", name], environment: [:], timeout: 30)
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func audit(_ extra: [String] = []) throws -> ProbeAuditDocument {
        let result = try Subprocess.run(
            "/usr/bin/env",
            ["ip", "netns", "exec", name, try CLI.binary(), "audit", "--no-policy", "--format", "json", "--netns", name] + extra,
            environment: [:], timeout: 120)
        #expect(result.status == 1, "\(result)")
        return try decodeJSON(ProbeAuditDocument.self, result.stdout)
    }
}

struct FixtureFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct ProbeAuditDocument: Decodable {
    struct Subject: Decodable {
        var proto: String
        var localPort: Int
    }
    struct FindingJSON: Decodable {
        var rule: String
        var severity: String
        var title: String
        var subject: Subject?
        var evidence: [String]
    }
    var findings: [FindingJSON]

    func finding(_ rule: String, _ port: Int, _ proto: String = "tcp") throws -> FindingJSON {
        try #require(
            findings.first { $0.rule == rule && $0.subject?.localPort == port && $0.subject?.proto == proto }, "\(rule) on \(port)")
    }

    var probeLines: [String] { findings.flatMap(\.evidence).filter { $0.hasPrefix("probe:") } }
}

extension CLITests {
    @Suite("Audit probes against real daemons in a namespace", .serialized)
    struct AuditProbes {
        @Test(
            "Redis, memcached and snmpd without authentication: the probe's answer is the evidence, and raises Redis to critical; --no-probe asks nothing",
            .enabled(if: ProbeNamespace.canRun, "needs network namespaces, root, ip, ss, redis-server, memcached and snmpd"))
        func openServices() throws {
            let namespace = try ProbeNamespace(locked: false)
            let report = try namespace.audit()
            let redis = try report.finding("exposed-datastore", 6379)
            #expect(redis.severity == "critical")
            #expect(redis.title == "Redis answering without authentication on 192.0.2.1:6379/tcp")
            #expect(redis.evidence.contains("probe: PING answered +PONG without AUTH"))
            let memcached = try report.finding("exposed-datastore", 11211)
            #expect(memcached.severity == "high")
            #expect(memcached.evidence.contains { $0.hasPrefix("probe: stats answered without authentication: STAT version 1.") })
            let snmp = try report.finding("cleartext-remote-access", 161, "udp")
            #expect(snmp.severity == "high")
            #expect(snmp.evidence.contains { $0.hasPrefix("probe: GET sysDescr.0 with community public answered: sysDescr Linux") })
            // The agent's amplification is the same problem on the same socket: it joins the finding.
            #expect(!report.findings.contains { $0.rule == "udp-amplification" && $0.subject?.localPort == 161 })
            #expect(snmp.evidence.contains { $0.hasPrefix("also udp-amplification (") }, "\(snmp.evidence)")
            // A wildcard bind is asked at the namespace's own address, as another host would ask:
            // protected mode refuses it, although a loopback client would get +PONG.
            let guarded = try report.finding("exposed-datastore", 6380)
            #expect(guarded.evidence.contains("probe: authentication required (DENIED, protected mode)"), "\(guarded.evidence)")
            #expect(guarded.severity == "high")

            let quiet = try namespace.audit(["--no-probe"])
            #expect(quiet.probeLines.isEmpty, "\(quiet.probeLines)")
            #expect(try quiet.finding("exposed-datastore", 6379).severity == "high")
            #expect(try quiet.finding("exposed-datastore", 6379).title == "Redis reachable beyond loopback on 192.0.2.1:6379/tcp")
        }

        @Test(
            "Redis with requirepass, memcached with an auth file and snmpd without community public: no evidence of access",
            .enabled(if: ProbeNamespace.canRun, "needs network namespaces, root, ip, ss, redis-server, memcached and snmpd"))
        func protectedServices() throws {
            let namespace = try ProbeNamespace(locked: true)
            let report = try namespace.audit()
            let redis = try report.finding("exposed-datastore", 6379)
            #expect(redis.severity == "high")
            #expect(redis.title == "Redis reachable beyond loopback on 192.0.2.1:6379/tcp")
            #expect(redis.evidence.contains("probe: authentication required (NOAUTH)"))
            let memcached = try report.finding("exposed-datastore", 11211)
            #expect(memcached.severity == "high")
            #expect(memcached.evidence.contains("probe: authentication required (CLIENT_ERROR unauthenticated)"))
            #expect(report.probeLines.allSatisfy { $0.hasPrefix("probe: authentication required (") }, "\(report.probeLines)")
            #expect(try report.finding("cleartext-remote-access", 161, "udp").evidence.allSatisfy { !$0.hasPrefix("probe:") })
        }
    }
}
