import PortcullisCore
import PortcullisLinux
import PortcullisStore

/// What the audit learns, read-only, about whether listeners are needed:
/// each judged program's own configuration, the remote clients of TCP
/// listeners now, and those the history database recorded.
enum NeedEvidence {
    struct Collected {
        var needs: [Int32: ServiceNeed]
        var clientsNow: [UInt64: [ClientSighting]]?
        var history: ClientHistory
        var diagnostics: [Diagnostic]
    }

    static func collect(_ entries: [InventoryEntry], options: AuditJob.Options) -> Collected {
        let procRoot = options.source.procRootPath
        let needs = ServiceConfigReader.needs(for: entries, procRoot: procRoot)
        // Each program's problems once, in a stable order.
        var diagnostics: [Diagnostic] = []
        for pid in needs.keys.sorted() {
            for d in needs[pid]?.diagnostics ?? [] where !diagnostics.contains(d) { diagnostics.append(d) }
        }
        let (now, clientProblems) = RemoteClientCollection.collect(entries, procRoot: procRoot)
        diagnostics += clientProblems
        return Collected(needs: needs, clientsNow: now, history: history(options), diagnostics: diagnostics)
    }

    /// The client window from the history database, opened read-only (never created or migrated here).
    static func history(_ options: AuditJob.Options) -> ClientHistory {
        guard options.clientWindowDays > 0 else { return .notConsulted }
        let path = options.historyPath ?? HistoryStore.defaultPath(effectiveUID: Console.effectiveUID, environment: Console.environment)
        guard let path else { return .unavailable("no history database (no home directory for its default location)") }
        var storeOptions = HistoryStore.Options()
        storeOptions.mode = .readOnly
        do {
            let store = try HistoryStore(path: path, options: storeOptions)
            let since = Clock.now() - Int64(options.clientWindowDays) * 86_400
            let (snapshots, sightings) = try store.clientSightings(since: since)
            return .window(days: options.clientWindowDays, snapshots: snapshots, sightings: sightings)
        } catch {
            // Only a file that is truly absent is "no history database": one this
            // user may not reach (a root-only directory) says so.
            if error.code == .missing && !HostFiles.exists(path) { return .unavailable("no history database at \(path)") }
            return .unavailable("history database \(path) not read (\(error.description))")
        }
    }
}
