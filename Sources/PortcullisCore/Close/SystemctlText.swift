/// The text `close` reads from the tools it drives: `systemctl show`,
/// `systemctl list-sockets` and nft's echoed rule handles. Each is the
/// tools' stable, documented machine form (key=value, no legend, `# handle N`).
public enum SystemctlText {
    /// The properties `close` asks `systemctl show` for.
    public static let properties = ["Id", "LoadState", "ActiveState", "UnitFileState", "Restart", "TriggeredBy"]

    /// `systemctl show -p Id,LoadState,… UNIT…`: one block of KEY=VALUE lines per unit, blank lines between.
    /// A block without `Id` is skipped.
    public static func parseShow(_ text: String) -> [UnitState] {
        var units: [UnitState] = []
        var fields: [String: String] = [:]
        func flush() {
            if let id = fields["Id"], !id.isEmpty {
                units.append(
                    UnitState(
                        name: id, loadState: fields["LoadState"] ?? "", activeState: fields["ActiveState"] ?? "",
                        unitFileState: fields["UnitFileState"] ?? "", restart: fields["Restart"] ?? "",
                        triggeredBy: (fields["TriggeredBy"] ?? "").split(separator: " ").map(String.init)))
            }
            fields = [:]
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                flush()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        flush()
        return units
    }

    /// `systemctl list-sockets --all --no-legend --full`: `LISTEN UNIT ACTIVATES…` per line, the
    /// activated units separated by spaces or commas. Lines that do not fit are skipped.
    public static func parseListSockets(_ text: String) -> [SocketUnit] {
        var units: [SocketUnit] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
            guard words.count >= 2, let unitIndex = words.firstIndex(where: { $0.hasSuffix(".socket") }), unitIndex >= 1 else { continue }
            // A listen address may itself contain spaces only for abstract names; what precedes the unit is the address.
            let listen = words[..<unitIndex].joined(separator: " ")
            units.append(SocketUnit(name: words[unitIndex], listen: listen, activates: Array(words[(unitIndex + 1)...])))
        }
        return units
    }

    /// The handle nft prints after a rule added with `--echo --handle`: the number after the last `# handle `.
    public static func echoedHandle(_ text: String) -> UInt64? {
        guard let range = text.ranges(of: "# handle ").last else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        return UInt64(digits)
    }
}
