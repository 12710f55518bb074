/// The YAML policy as the audit consults it.
extension Policy: AuditPolicy {
    /// Maps `decision(for:exposure:)` to the audit's verdict, with the allow entry's line.
    public func auditDecision(for entry: InventoryEntry, exposure: Exposure) -> PolicyVerdict {
        switch decision(for: entry, exposure: exposure) {
        case .allowed(let allow): return .allowed(line: allow.line)
        case .exposureTooWide(let allow): return .exposureTooWide(allowed: allow.exposure, line: allow.line)
        case .notAllowed: return .notAllowed
        }
    }

    /// "ignored by SOURCE line N: REASON" for the first unexpired ignore of `rule` covering `entry`; nil when none applies.
    public func ignoreReason(rule: RuleID, entry: InventoryEntry?, now: Int64) -> String? {
        activeIgnore(rule: rule, entry: entry, now: now).map { "ignored by \(source) line \($0.line): \($0.reason)" }
    }

    /// "ignored by SOURCE line N: REASON" for the first unexpired ignore naming the finding `findingID`.
    public func ignoreReason(rule: RuleID, findingID: String, now: Int64) -> String? {
        activeIgnore(rule: rule, findingID: findingID, now: now).map { "ignored by \(source) line \($0.line): \($0.reason)" }
    }

    /// One note per ignore whose `expires:` day has passed (relative to `now`, seconds since the epoch), naming its line and rule.
    public func expiredIgnoreNotes(now: Int64) -> [String] {
        expiredIgnores(now: now).map { ignore in
            "\(source) line \(ignore.line): the ignore of \(ignore.rule.rawValue) expired"
                + (ignore.expires.map { " on \($0)" } ?? "") + "; its findings are reported again"
        }
    }
}
