import PortcullisCore
import PortcullisLinux

/// The host firewall's verdict per listener, read once per run.
enum FirewallJudge {
    static func current(_ diagnostics: inout [Diagnostic]) -> ((InventoryEntry) -> FirewallVerdict)? {
        nil
    }
}
