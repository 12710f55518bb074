import PortcullisCore
import PortcullisLinux

/// `portcullis hidden`: ports in use that the socket tables do not show,
/// re-verified over several rounds (see `HiddenPortCheck`).
public enum HiddenJob {
    /// Runs the check; `.hidden` when it cannot run at all (no table could be read).
    /// With `allNetworkNamespaces` (`--all-netns`, root on the live kernel)
    /// every other network namespace's ports are then checked from inside
    /// it, and its findings join the report, each naming its namespace.
    public static func run(
        _ options: HiddenPortCheck.Options = HiddenPortCheck.Options(), allNetworkNamespaces: Bool = false
    ) throws(JobError) -> HiddenReport {
        var report: HiddenReport
        do { report = try HiddenPortCheck.run(options) } catch { throw .hidden(error) }
        guard allNetworkNamespaces else { return report }
        guard options.procRoot == "/proc", Console.effectiveUID == 0 else {
            throw .invalidInput("--all-netns enters every network namespace: it needs root and the live /proc")
        }
        guard let procfs = try? ProcFS(root: options.procRoot) else { return report }
        let discovery = NamespaceDiscovery.discover(procfs: procfs)
        let others = discovery.found.filter { $0.namespace.inode != discovery.own }
        options.progress?("probing \(others.count) other network namespace\(others.count == 1 ? "" : "s")")
        for (namespace, outcome) in HiddenPortCheck.runInside(others, options: options) {
            switch outcome {
            case .success(let inside):
                for var finding in inside.findings {
                    finding.explanation = "network namespace \(namespace.label): " + finding.explanation
                    report.findings.append(finding)
                }
                report.diagnostics += inside.diagnostics.map {
                    Diagnostic($0.severity, "network namespace \(namespace.label): \($0.message)")
                }
                report.candidates += inside.candidates
                report.durationMilliseconds += inside.durationMilliseconds
            case .failure(let error):
                report.diagnostics.append(Diagnostic(.warning, "network namespace \(namespace.label) not probed: \(error)"))
            }
            report.namespacesProbed.append(namespace.label)
        }
        return report
    }
}

/// `portcullis policy init`: a starter policy that allows exactly what
/// listens now, with each listener's exposure as the audit judges it.
public enum PolicyStarterJob {
    /// The starter policy and what collecting it noticed.
    public struct Report: Sendable {
        /// The policy file's text.
        public var text: String
        /// Listening sockets it allows.
        public var listenerCount: Int
        /// What could not be read or attributed, and the firewall's notes.
        public var diagnostics: [Diagnostic]
    }

    /// Collects the listening sockets and judges each one's exposure as `AuditJob` does (the firewall included unless `judgeFirewall` is false).
    public static func run(source: HostSource = HostSource(), judgeFirewall: Bool = true) throws(JobError) -> Report {
        let judged = try AuditJob.judge(AuditJob.Options(source: source, policy: .none, judgeFirewall: judgeFirewall, probe: false))
        let listeners = judged.audit.listeners
        let text = Policy.starter(
            from: listeners.map(\.entry), exposures: listeners.map(\.judgedExposure),
            generatedAt: Clock.now(), host: HostFiles.hostname())
        return Report(text: text, listenerCount: judged.inventory.entries.count, diagnostics: judged.diagnostics)
    }
}
