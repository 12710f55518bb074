import ArgumentParser
import PortcullisCore
import PortcullisLinux
import PortcullisStore

extension Portcullis {
    struct BaselineCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "baseline", abstract: "Set or show the baseline: the snapshot `diff` and `audit --baseline` compare with.",
            subcommands: [Set.self, Show.self])

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a snapshot the baseline (default: take one now). Earlier baselines stay recorded.",
                discussion: "Exit codes: 0 set, 2 usage error or unknown snapshot, 3 runtime error.")

            @Argument(help: ArgumentHelp("A snapshot id (portcullis history lists them); default: take a snapshot now.", valueName: "SNAPSHOT"))
            var snapshot: String?
            @Option(help: ArgumentHelp("Label of the snapshot taken now.", valueName: "TEXT"))
            var label: String?
            @OptionGroup var storeOptions: StoreOptions
            @OptionGroup var auditOptions: AuditOptions
            @OptionGroup var sourceOptions: SourceOptions

            func validate() throws {
                if snapshot != nil && label != nil { throw ValidationError("--label names a snapshot taken now; it cannot be combined with SNAPSHOT") }
            }

            func run() throws {
                let id = try snapshot.map { try snapshotID($0, option: "SNAPSHOT") }
                let store = try storeOptions.open(.readWrite)
                let target = try id ?? take(store: store, label: label ?? "baseline", auditOptions: auditOptions, sourceOptions: sourceOptions).id
                let info = try store.setBaseline(target, at: Clock.now())
                Console.write("baseline: snapshot \(info.snapshot.id) taken \(Timestamp.iso8601(info.snapshot.time)) (\(info.snapshot.listenerCount) listeners, \(info.snapshot.findingCount) findings)\n")
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show the baseline snapshot: its listeners and findings.",
                discussion: "Exit codes: 0 shown, 2 no baseline set, 3 runtime error.")

            @Option(help: "Output format: table or json.")
            var format: HistoryFormat = .table
            @OptionGroup var storeOptions: StoreOptions

            func run() throws {
                let store = try storeOptions.open(.readOnly)
                let baseline = try store.requireBaseline()
                let content = try store.content(of: baseline.snapshot.id)
                switch format {
                case .json:
                    guard case .object(var header) = HistoryRenderer.json(baseline.snapshot, baseline: baseline.snapshot.id) else { return }
                    header.append(("set_at", .string(Timestamp.iso8601(baseline.setAt))))
                    Console.write(JSONValue.object([
                        ("baseline", .object(header)),
                        ("listeners", .array(content.entries.map(InventoryRenderer.json))),
                        ("findings", .array(content.findings.map(AuditRenderer.json))),
                    ]).serialized(pretty: true) + "\n")
                case .table:
                    let s = baseline.snapshot
                    Console.write("baseline: snapshot \(s.id) taken \(Timestamp.iso8601(s.time))\(s.label.map { " \"\($0)\"" } ?? "")"
                                  + "\(s.hostname.map { " on \($0)" } ?? ""), set \(Timestamp.iso8601(baseline.setAt))\n\n")
                    Console.write(InventoryRenderer.renderTable(content.entries, allStates: false, style: TableStyle(color: Console.wantsColor())))
                    Console.write("\n\(content.findings.count) finding\(content.findings.count == 1 ? "" : "s")\n")
                    for f in content.findings { Console.write("  [\(f.severity.rawValue)] \(f.rule.rawValue): \(f.title)\n") }
                }
            }
        }
    }
}
