import PortcullisCore
import PortcullisLinux

/// `portcullis hidden`: ports in use that the socket tables do not show,
/// re-verified over several rounds (see `HiddenPortCheck`).
public enum HiddenJob {
    /// Runs the check; `.hidden` when it cannot run at all (no table could be read).
    public static func run(_ options: HiddenPortCheck.Options = HiddenPortCheck.Options()) throws(JobError) -> HiddenReport {
        do { return try HiddenPortCheck.run(options) } catch { throw .hidden(error) }
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
        let judged = try AuditJob.judge(AuditJob.Options(source: source, policy: .none, judgeFirewall: judgeFirewall))
        let listeners = judged.audit.listeners
        let text = Policy.starter(
            from: listeners.map(\.entry), exposures: listeners.map(\.judgedExposure),
            generatedAt: Clock.now(), host: HostFiles.hostname())
        return Report(text: text, listenerCount: judged.inventory.entries.count, diagnostics: judged.diagnostics)
    }
}
