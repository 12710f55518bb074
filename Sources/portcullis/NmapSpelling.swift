/// nmap's multi-letter short options (`-sU`, `-oX`, `-iL`, `-Pn`) and
/// attached values (`-p-`, `-p22,80`) are not argument-parser syntax; for
/// `scan` they are rewritten to their long forms before parsing, so nmap
/// habits work. Nothing after `--` and nothing outside `scan` is touched.
enum NmapSpelling {
    static let longForms = [
        "-sT": "--tcp", "-sU": "--udp", "-sV": "--service", "-iL": "--input-file",
        "-oX": "--xml", "-Pn": "--no-ping", "-sn": "--discover-only",
    ]

    static func rewrite(_ arguments: [String]) -> [String] {
        guard let scan = arguments.firstIndex(of: "scan"),
            arguments[..<scan].allSatisfy({ $0.hasPrefix("-") && $0 != "--" })
        else { return arguments }
        var out = Array(arguments[...scan])
        var rest = arguments[(scan + 1)...]
        while let argument = rest.popFirst() {
            if argument == "--" {
                out.append(argument)
                out += rest
                break
            }
            if let long = longForms[argument] {
                out.append(long)
            } else if argument.hasPrefix("-p") && argument.count > 2 && !argument.hasPrefix("-p=") {
                out.append("--ports=" + argument.dropFirst(2))  // -p- and -p22,80
            } else if argument == "-p", let value = rest.first, value.hasPrefix("-") {
                out.append("--ports=" + value)  // -p -  (a value that looks like an option)
                rest.removeFirst()
            } else {
                out.append(argument)
            }
        }
        return out
    }
}
