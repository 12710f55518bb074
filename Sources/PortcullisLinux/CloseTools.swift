import PortcullisCore

/// The programs `close` drives: systemctl, docker, podman and nft, each run
/// by absolute path (never a PATH lookup), with an empty environment and a
/// time limit, and only when root owns it and no one else can write it
/// (the check `FirewallReader` makes of nft: portcullis runs as root).
public struct CloseTools: Sendable {
    /// Where systemctl is looked for.
    public var systemctl = ["/usr/bin/systemctl", "/bin/systemctl"]
    /// Where the docker CLI is looked for.
    public var docker = ["/usr/bin/docker", "/usr/local/bin/docker"]
    /// Where the podman CLI is looked for.
    public var podman = ["/usr/bin/podman", "/usr/local/bin/podman"]
    /// Where nft is looked for.
    public var nft = FirewallReader.nftPaths
    /// A directory that exists only when systemd is the running init (sd_booted(3)).
    public var systemdMarker = "/run/systemd/system"
    /// How long one command may run.
    public var timeoutMilliseconds: Int64 = 30_000

    /// The real tools at their usual places.
    public init() {}

    /// A tool's failure: not installed, not trusted, or it said no.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What went wrong, with the tool's own words.
        public var description: String
    }

    /// The first of `candidates` that exists.
    func locate(_ candidates: [String]) -> String? { candidates.first { (try? Sys.fileStatus($0)) != nil } }

    /// Whether systemd runs this machine.
    var systemdRunning: Bool { (try? Sys.fileStatus(systemdMarker)).map { $0.mode & 0o170000 == 0o040000 } ?? false }

    /// Why `candidates` cannot be run, or nil when it can.
    func unavailable(_ candidates: [String], name: String) -> String? {
        guard let path = locate(candidates) else { return "\(name) is not installed (looked for \(candidates.joined(separator: ", ")))" }
        return FirewallReader.untrustworthy(path)
    }

    /// Runs the first of `candidates` with `arguments` (argv[0] is added); stdout on success.
    func run(_ candidates: [String], _ arguments: [String]) throws(Failure) -> String {
        guard let path = locate(candidates) else {
            throw Failure(description: "not installed (looked for \(candidates.joined(separator: ", ")))")
        }
        if let problem = FirewallReader.untrustworthy(path) { throw Failure(description: problem) }
        let result: ChildProcessResult
        do {
            result = try ChildProcess.run(
                path: path, arguments: [path] + arguments, timeoutMilliseconds: timeoutMilliseconds, stdoutLimit: 4 << 20)
        } catch { throw Failure(description: "could not run \(path): \(error)") }
        let command = ([path] + arguments).joined(separator: " ")
        if result.timedOut { throw Failure(description: "\(command) did not finish within \(timeoutMilliseconds) ms; killed") }
        let said = FirewallReader.errorText(result.stderr).map { ": \($0)" } ?? ""
        switch result.status {
        case .exited(0): return String(decoding: result.stdout, as: UTF8.self)
        case .exited(let code): throw Failure(description: "\(command) failed (exit \(code))\(said)")
        case .signalled(let signal): throw Failure(description: "\(command) was killed by signal \(signal)\(said)")
        }
    }
}
