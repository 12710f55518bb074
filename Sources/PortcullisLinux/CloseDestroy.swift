import PortcullisCore

extension PortCloser {
    /// SOCK_DESTROY of each established connection, by the cookie of a
    /// checked exact lookup (never NOCOOKIE: an exact lookup for a tuple
    /// with no connection lands on the listener, which must stay). The
    /// netlink socket is opened inside the namespace, where it acts.
    func destroy(_ sockets: [CloseSocket], _ step: CloseStep) -> CloseStepOutcome {
        let records = sockets.map(\.record)
        let outcomes: Result<[SocketDestroyer.Outcome], SockDiagError>
        do {
            outcomes = try namespace.run {
                Result { () throws(SockDiagError) in
                    var destroyer = try SocketDestroyer()
                    return destroyer.destroy(records)
                }
            }
        } catch {
            return CloseStepOutcome(kind: step.kind, summary: step.summary, status: .failed, detail: "\(error)")
        }
        let results: [SocketDestroyer.Outcome]
        switch outcomes {
        case .success(let list): results = list
        case .failure(let error):
            return CloseStepOutcome(kind: step.kind, summary: step.summary, status: .failed, detail: error.description)
        }
        var destroyed = 0
        var gone = 0
        var problems: [String] = []
        for outcome in results {
            switch outcome.result {
            case .success: destroyed += 1
            case .failure(let error) where error.meansSocketGone: gone += 1
            case .failure(let error): problems.append(error.description)
            }
        }
        var detail = "\(destroyed) destroyed"
        if gone > 0 { detail += ", \(gone) closed already (the peer's reset, or the application)" }
        if !problems.isEmpty { detail += "; " + problems.joined(separator: "; ") }
        let undo: [CloseUndo] =
            destroyed > 0 ? [.irreversible("a destroyed connection cannot be restored; its clients reconnect if they want to")] : []
        return CloseStepOutcome(
            kind: step.kind, summary: step.summary, status: problems.isEmpty ? .done : .failed, detail: detail, undo: undo)
    }

    /// The destroyed connections are gone from the namespace's socket table.
    func verifyReset(_ plan: ClosePlan) -> CloseVerification {
        let targets: Set<UInt64> = Set(
            plan.steps.flatMap { step -> [UInt64] in
                if case .destroySockets(let sockets) = step { return sockets.map(\.record.inode) }
                return []
            })
        let port = plan.facts.port
        let dumped: Result<[SocketRecord], SockDiagError>
        do {
            dumped = try namespace.run {
                var client = SockDiagClient()
                return Result { () throws(SockDiagError) in
                    var all: [SocketRecord] = []
                    for family in AddressFamily.allCases {
                        all += try client.dump(proto: .tcp, family: family, states: SocketState.established.mask, localPorts: [port])
                    }
                    return all
                }
            }
        } catch {
            return CloseVerification(status: .stillOpen, detail: "could not check: \(error)")
        }
        switch dumped {
        case .failure(let error): return CloseVerification(status: .stillOpen, detail: "could not check: \(error)")
        case .success(let records):
            let left = records.filter { targets.contains($0.inode) }
            if left.isEmpty {
                let others = records.filter { $0.localPort == port }.count
                return CloseVerification(
                    status: .connectionsReset,
                    detail: "none of the \(targets.count) connections is left"
                        + (others > 0 ? "; \(others) new connection\(others == 1 ? "" : "s") came in since (the listener stays)" : ""))
            }
            return CloseVerification(
                status: .stillOpen,
                detail: "still established: " + left.map { CloseSocket(record: $0, holders: []).summary }.joined(separator: ", "))
        }
    }
}
