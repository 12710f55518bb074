/// Pure parsers for the configuration files that say whether a network
/// service has a reason to exist: NFS exports and mounts, NIS, Samba,
/// Postfix, Avahi and CUPS. Each takes the file's text and keeps only what
/// the `ServiceNeeds` judgement uses; none of them guesses a value the file
/// does not hold (an unset key is nil, and the judgement states the
/// program's documented default).
public enum ServiceConfigs {
    // MARK: NFS and NIS (rpcbind)

    /// The exported paths of an exports(5) file (/etc/exports or
    /// /etc/exports.d/*.exports): the first field of each entry, comments
    /// and backslash-continued client lists skipped.
    public static func exports(_ text: String) -> [String] {
        var paths: [String] = []
        var continued = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let wasContinued = continued
            continued = line.trimmingWhitespace.hasSuffix("\\")
            if wasContinued { continue }
            let trimmed = line.trimmingWhitespace
            guard !trimmed.isEmpty else { continue }
            // A quoted path may hold spaces: "/srv/my share" host(ro).
            if trimmed.hasPrefix("\"") {
                let rest = trimmed.dropFirst()
                if let end = rest.firstIndex(of: "\"") { paths.append(String(rest[..<end])) }
                continue
            }
            if let first = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).first, first != "\\" {
                paths.append(String(first))
            }
        }
        return paths
    }

    /// An NFS file system in a mount table or fstab.
    public struct NFSMount: Sendable, Equatable {
        /// server:/path.
        public var source: String
        /// Where it is (or would be) mounted.
        public var mountPoint: String
        /// nfs or nfs4.
        public var type: String
    }

    /// NFS entries of /proc/PID/mounts or /etc/fstab (same field order:
    /// source, mount point, type, options): types nfs and nfs4. Mount
    /// points keep their octal escapes (\040 for a space).
    public static func nfsMounts(_ text: String) -> [NFSMount] {
        var mounts: [NFSMount] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingWhitespace
            guard !line.hasPrefix("#") else { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, fields[2] == "nfs" || fields[2] == "nfs4" else { continue }
            mounts.append(NFSMount(source: String(fields[0]), mountPoint: String(fields[1]), type: String(fields[2])))
        }
        return mounts
    }

    /// The nsswitch.conf(5) databases whose sources include NIS (`nis` or
    /// `nisplus`), such as ["passwd", "group"].
    public static func nsswitchNISDatabases(_ text: String) -> [String] {
        var databases: [String] = []
        for raw in text.split(separator: "\n") {
            let line = (raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingWhitespace
            guard let colon = line.firstIndex(of: ":") else { continue }
            let sources = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            // Action items ([NOTFOUND=return]) are not sources.
            if sources.contains(where: { $0 == "nis" || $0 == "nisplus" }) {
                databases.append(String(line[..<colon]).trimmingWhitespace)
            }
        }
        return databases
    }

    /// The active lines of yp.conf(5) (`domain … server …`, `ypserver …`, `broadcast`).
    public static func ypBindings(_ text: String) -> [String] {
        text.split(separator: "\n").map {
            ($0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingWhitespace
        }
        .filter { !$0.isEmpty }
    }

    // MARK: INI files (smb.conf, avahi-daemon.conf)

    /// An INI-style file as Samba and Avahi read it: `[section]` headers,
    /// `key = value` lines, `#` and `;` comments. Keys are compared in
    /// lower case with runs of spaces made one ("bind  interfaces only").
    public struct IniFile: Sendable, Equatable {
        /// Sections in file order, each with its name in lower case; a
        /// section repeated later is merged into the first.
        public var sections: [(name: String, values: [String: String])] {
            order.map { ($0, values[$0] ?? [:]) }
        }
        /// Section names (lower case) in file order.
        public var order: [String] = []
        /// Values by section (lower case) then key (normalised); the last assignment wins.
        public var values: [String: [String: String]] = [:]

        /// The value of `key` in `section`, or nil when unset.
        public func value(_ section: String, _ key: String) -> String? {
            values[section.lowercased()]?[IniFile.normalise(key)]
        }

        static func normalise(_ key: String) -> String {
            key.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        }

        /// Equal when the same sections hold the same values.
        public static func == (a: IniFile, b: IniFile) -> Bool { a.order == b.order && a.values == b.values }
    }

    /// Parses an INI-style file; lines ending in a backslash continue on the
    /// next (as smb.conf allows). Lines before the first section belong to "".
    public static func ini(_ text: String) -> IniFile {
        var file = IniFile()
        var section = ""
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = pending + raw.trimmingWhitespace
            pending = ""
            if line.hasSuffix("\\") {
                line.removeLast()
                pending = line + " "
                continue
            }
            guard let first = line.first, first != "#", first != ";" else { continue }
            if first == "[", let close = line.firstIndex(of: "]") {
                section = String(line[line.index(after: line.startIndex)..<close]).trimmingWhitespace.lowercased()
                if file.values[section] == nil {
                    file.order.append(section)
                    file.values[section] = [:]
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = IniFile.normalise(String(line[..<equals]))
            let value = String(line[line.index(after: equals)...]).trimmingWhitespace
            if file.values[section] == nil {
                file.order.append(section)
                file.values[section] = [:]
            }
            file.values[section]?[key] = value
        }
        return file
    }

    /// Samba's boolean spelling: yes/true/1/on or no/false/0/off (nil for anything else).
    public static func boolean(_ value: String?) -> Bool? {
        switch value?.lowercased() {
        case "yes", "true", "1", "on": return true
        case "no", "false", "0", "off": return false
        default: return nil
        }
    }

    // MARK: Postfix

    /// main.cf(5): `name = value` lines, a line starting with white space
    /// continuing the previous one, `#` comments. The last assignment wins.
    public static func postfixMain(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        var current: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = raw.trimmingWhitespace
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if let first = raw.first, first == " " || first == "\t" {
                if let current { values[current] = ((values[current] ?? "") + " " + trimmed).trimmingWhitespace }
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                current = nil
                continue
            }
            let name = String(trimmed[..<equals]).trimmingWhitespace
            values[name] = String(trimmed[trimmed.index(after: equals)...]).trimmingWhitespace
            current = name
        }
        return values
    }

    /// A Postfix list value (comma or white space separated), empty items dropped.
    public static func postfixList(_ value: String?) -> [String] {
        (value ?? "").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// A service of master.cf(5) that listens on the network.
    public struct PostfixInetService: Sendable, Equatable {
        /// The service field: `smtp`, `submission`, `127.0.0.1:smtp`, `2525`.
        public var service: String
        /// The command: `smtpd`, `postscreen`.
        public var command: String
    }

    /// The enabled `inet` services of master.cf (comment lines are disabled ones).
    public static func postfixInetServices(_ text: String) -> [PostfixInetService] {
        var out: [PostfixInetService] = []
        for raw in text.split(separator: "\n") {
            guard let first = raw.first, first != "#", first != " ", first != "\t" else { continue }
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, fields[1] == "inet" else { continue }
            out.append(PostfixInetService(service: String(fields[0]), command: String(fields[7])))
        }
        return out
    }

    // MARK: CUPS

    /// A CUPS configuration file (cupsd.conf, cups-browsed.conf) as
    /// `Directive value` lines outside any `<Section>`: directive names as
    /// written, in file order.
    public static func cupsDirectives(_ text: String) -> [(directive: String, value: String)] {
        var out: [(String, String)] = []
        var depth = 0
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingWhitespace
            guard let first = line.first, first != "#" else { continue }
            if line.hasPrefix("</") {
                depth = max(0, depth - 1)
                continue
            }
            if first == "<" {
                depth += 1
                continue
            }
            guard depth == 0 else { continue }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            out.append((String(parts[0]), parts.count > 1 ? String(parts[1]).trimmingWhitespace : ""))
        }
        return out
    }

    /// The queues of /etc/cups/printers.conf: the names of its `<Printer …>`
    /// and `<DefaultPrinter …>` sections, each with whether it is shared
    /// (`Shared Yes`; CUPS's default for a queue without the line is
    /// shared, but cupsd writes the line for every queue).
    public static func cupsPrinters(_ text: String) -> [(name: String, shared: Bool)] {
        var out: [(String, Bool)] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingWhitespace
            if line.hasPrefix("<Printer ") || line.hasPrefix("<DefaultPrinter ") {
                let name = line.drop(while: { $0 != " " }).dropFirst().dropLast(line.hasSuffix(">") ? 1 : 0)
                out.append((String(name).trimmingWhitespace, true))
            } else if line.lowercased().hasPrefix("shared "), !out.isEmpty {
                out[out.count - 1].1 = boolean(String(line.dropFirst(7)).trimmingWhitespace) ?? true
            }
        }
        return out
    }
}
