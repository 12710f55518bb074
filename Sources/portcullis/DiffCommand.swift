import ArgumentParser
import PortcullisCore
import PortcullisLinux
import PortcullisStore

enum DiffFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

extension Portcullis {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What changed between two snapshots, or a snapshot and the live host: listeners added and removed, owner and exposure changes, findings new and resolved.",
            discussion: """
                FROM defaults to the baseline and TO to the live host; each is a snapshot id, \
                `baseline` or (TO only) `live`.

                Exit codes: 0 no difference, 1 a difference, 2 usage error, unknown snapshot or no baseline, 3 runtime error.
                """)

        @Argument(help: ArgumentHelp("Snapshot id or `baseline` (default: the baseline).", valueName: "FROM"))
        var from: String?
        @Argument(help: ArgumentHelp("Snapshot id, `baseline` or `live` (default: the live host).", valueName: "TO"))
        var to: String?
        @Option(help: "Output format: text or json.")
        var format: DiffFormat = .text
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var auditOptions: AuditOptions
        @OptionGroup var sourceOptions: SourceOptions

        func validate() throws {
            if from == "live" { throw ValidationError("FROM must be a snapshot or `baseline`; the live host can only be TO") }
        }

        func run() throws {
            let store = try storeOptions.open(.readOnly)
            let baseline = try store.baseline()
            func stored(_ word: String?, option: String) throws -> (SnapshotContent, DiffSide) {
                let id: Int64
                if word == nil || word == "baseline" {
                    id = try baseline?.snapshot.id ?? store.requireBaseline().snapshot.id
                } else {
                    id = try snapshotID(word ?? "", option: option)
                }
                let info = try store.snapshot(id)
                let content = try store.content(of: id)
                return (content, DiffSide(snapshot: info, time: info.time, isBaseline: baseline?.snapshot.id == id))
            }
            let (before, fromSide) = try stored(from, option: "FROM")
            let after: SnapshotContent
            let toSide: DiffSide
            if to == nil || to == "live" {
                let (content, _, diagnostics) = try liveContent(auditOptions, sourceOptions)
                reportDiagnostics(diagnostics)
                (after, toSide) = (content, DiffSide(snapshot: nil, time: Clock.now()))
            } else {
                (after, toSide) = try stored(to, option: "TO")
            }
            let diff = HistoryDiff.compute(from: before, to: after)
            switch format {
            case .text: Console.write(HistoryRenderer.renderDiffText(diff, from: fromSide, to: toSide, style: TableStyle(color: Console.wantsColor())))
            case .json: Console.write(HistoryRenderer.renderDiffJSON(diff, from: fromSide, to: toSide))
            }
            if !diff.isEmpty { throw ExitCode(ExitStatus.findings) }
        }
    }
}
