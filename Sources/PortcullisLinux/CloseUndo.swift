import PortcullisCore

extension PortCloser {
    /// Reverts what a journaled close did, last step first. What cannot be
    /// reverted (a signalled process, a destroyed connection) is reported
    /// as such, with what to do instead.
    public func undo(_ record: CloseRecord) -> [CloseUndoOutcome] {
        record.undos.map(revert)
    }

    func revert(_ undo: CloseUndo) -> CloseUndoOutcome {
        let tools = self.tools
        func drive(_ cli: [String], _ arguments: [String]) -> CloseUndoOutcome {
            do {
                _ = try namespace.run { Result { () throws(CloseTools.Failure) in try tools.run(cli, arguments) } }.get()
                return CloseUndoOutcome(undo: undo, status: .reverted, detail: "")
            } catch {
                return CloseUndoOutcome(undo: undo, status: .failed, detail: "\(error)")
            }
        }
        switch undo {
        case .deleteRules(let rules):
            var problems: [String] = []
            for rule in rules {
                do { _ = try nft(["delete", "rule", "inet", Self.table, rule.chain, "handle", String(rule.handle)]) } catch {
                    problems.append("\(rule.chain) handle \(rule.handle): \(error)")
                }
            }
            // The table goes too once no close's rule is left in it.
            var detail = ""
            if let listing = try? nft(["list", "table", "inet", Self.table]), !listing.contains("portcullis close") {
                if (try? nft(["delete", "table", "inet", Self.table])) != nil {
                    detail = "table inet \(Self.table) is empty and was deleted"
                }
            }
            if !problems.isEmpty {
                return CloseUndoOutcome(undo: undo, status: .failed, detail: "could not delete " + problems.joined(separator: "; "))
            }
            return CloseUndoOutcome(undo: undo, status: .reverted, detail: detail)
        case .startUnits(let units): return drive(tools.systemctl, ["start", "--"] + units)
        case .enableUnits(let units): return drive(tools.systemctl, ["enable", "--"] + units)
        case .unmaskUnits(let units): return drive(tools.systemctl, ["unmask", "--"] + units)
        case .restoreRestartPolicy(let c, let policy): return drive(cli(c), ["update", "--restart=\(policy)", c.id])
        case .startContainer(let c): return drive(cli(c), ["start", c.id])
        case .irreversible(let why): return CloseUndoOutcome(undo: undo, status: .irreversible, detail: why)
        }
    }
}
