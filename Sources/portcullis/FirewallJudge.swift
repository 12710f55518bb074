import PortcullisCore
import PortcullisLinux

/// The host firewall's verdict per listener, from one read of the nftables
/// ruleset per run.
enum FirewallJudge {
    static func current(_ diagnostics: inout [Diagnostic]) -> ((InventoryEntry) -> FirewallVerdict)? {
        let snapshot = FirewallReader.read()
        diagnostics += snapshot.diagnostics
        // One memo for the run: listeners the ruleset cannot tell apart share one evaluation.
        var memo = FirewallModel.Memo()
        return { snapshot.verdict(for: $0, memo: &memo) }
    }
}
