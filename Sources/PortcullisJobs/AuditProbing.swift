import PortcullisCore
import PortcullisLinux
import PortcullisScan

extension AuditJob {
    /// Whether the audit probes by default: as root (euid 0), where it sees every listener and can enter other namespaces.
    public static var probesByDefault: Bool { Console.effectiveUID == 0 }

    /// Runs the safe local probes (README "Probes") against the listeners of
    /// `input` that `AuditProbePlan` picks, and puts what they found in
    /// `input.probes`; returns the probes that could not run.
    static func probe(_ input: inout AuditInput, discovery: NamespaceDiscovery?, procRoot: String) -> [Diagnostic] {
        let targets = AuditProbePlan.targets(input)
        guard !targets.isEmpty else { return [] }
        var paths: [UInt64: String] = [:]
        for found in discovery?.found ?? [] { paths[found.namespace.inode] = found.entryPath(procRoot: procRoot) }
        let result = LocalProbes.run(targets, namespacePaths: paths)
        input.probes = result.evidence
        return result.diagnostics
    }
}
