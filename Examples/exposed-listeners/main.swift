// An app embedding portcullis: prints every listener reachable from other
// hosts, who owns it, and the audit's verdict. Built with the package
// (`swift build`), so this example cannot fall out of step with the API;
// the README's "Use as a library" section shows it.
import PortcullisCore
import PortcullisJobs

do {
    let report = try AuditJob.run(AuditJob.Options(policy: .none))
    for listener in report.audit.listeners where listener.reachable {
        let socket = listener.entry.socket
        let address = InventoryRenderer.address(socket.localAddress, port: socket.localPort, proto: socket.proto)
        let owner = listener.entry.owners.first.map { "\($0.name) (pid \($0.pid))" } ?? "no process"
        print("\(socket.proto.rawValue) \(address)  \(owner)  \(listener.verdict)")
    }
    for diagnostic in report.diagnostics { print("note: \(diagnostic)") }
} catch {
    // JobError says what failed and whether the caller's input was at fault.
    print("cannot audit: \(error) (\(error.isUsageError ? "bad input" : "runtime failure"))")
}
