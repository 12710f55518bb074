// portcullis hidden — ports in use that the socket tables do not show.
//
// Usage: portcullis hidden [--format table|json|ndjson] [--rounds N] [--all-netns]
//
// Exit codes:
//   0  nothing hidden (notices, e.g. an unbound socket in no table, do not count)
//   4  a hidden port or process confirmed through every re-verification round
//   2  usage error
//   3  runtime error (neither netlink nor /proc/net could be read, ...)
//
// JSON (--format json): one object
//   clean         bool    true when nothing hidden was found (exit 0)
//   rounds        int     re-verification rounds each candidate had to survive
//   candidates    int     discrepancies in the first pass, before re-verification
//   duration_ms   int     wall time of the whole check
//   bind_probes   array   one object per swept protocol and family:
//       proto       "tcp" | "udp"
//       family      "ipv4" | "ipv6"
//       in_use      int   ports whose bind failed with EADDRINUSE
//       listed      int   ports a socket in the first table dump holds: not
//                         probed (a probe could only say "in use", which
//                         the table explains)
//       free        int   ports whose bind succeeded
//       not_probed  int   ports not probed (EACCES below 1024 without CAP_NET_BIND_SERVICE)
//       errors      int   ports whose bind failed with another errno
//   netns_probed  array   other network namespaces probed from inside (--all-netns)
//   pids_checked  int     pids looked up directly (up to kernel.pid_max) for
//                         processes hidden from the /proc listing; 0 if not
//                         run, or if tasks_counted made it needless
//   tasks_counted int     the tasks the kernel counts, when the listed
//                         processes hold exactly that many threads (so none
//                         can be hidden from the listing and no pid is looked
//                         up); 0 when that could not be shown
//   tamper_hints  array   signs that socket readers may be lied to, each
//                         {kind, detail}; kind is "ld_so_preload" (the file
//                         exists), "ld_preload_env" (set for portcullis),
//                         "owner_ld_preload" (set for the owner of a hidden
//                         socket) or "libc_read_differs" (a /proc/net table
//                         read through libc lacks rows that raw system calls
//                         return: an LD_PRELOAD library filters it)
//   findings      array   confirmed discrepancies, each:
//       kind        "port" (a port in use that some table misses), "inode"
//                   (a socket a process holds that no table lists) or
//                   "process" (a process missing from the /proc listing)
//       proto       "tcp" | "udp" | null (kinds inode and process)
//       family      "ipv4" | "ipv6" | null (kinds inode and process)
//       port        int | null (kinds inode and process)
//       inode       int | null: the socket's inode when the fd walk found it
//       technique   "hidden_from_all_readers" (in use, in neither table:
//                   kernel-level rootkit), "libc_hook" (in neither table as
//                   read through libc, but a raw read of /proc/net lists it:
//                   an LD_PRELOAD library), "proc_net_hook"
//                   (netlink lists it, /proc/net does not), "inet_diag_hook"
//                   (/proc/net lists it, netlink does not), "inode_in_no_table",
//                   "process_hidden_from_listing"
//       alarm       bool  true for hidden ports and processes (they set exit
//                   4); false for notices (an unbound or closed socket, or a
//                   family with no table such as AF_VSOCK, is in no table)
//       seen_by     array of views that saw it in use:
//       not_seen_by array of views that did not:
//                   "netlink", "proc_net", "bind_probe", "connect_probe", "fd_walk"
//       owner_pids  array of int: processes holding the socket (found through
//                   the tables' inodes, or by asking the socket itself for its
//                   port with pidfd_getfd); for kind process, its pid
//       explanation string: the finding in words, with the likely technique
//   diagnostics   array of {severity: "notice"|"warning", message}: what could
//                 not be checked and why (also printed on stderr)
//
// NDJSON (--format ndjson): one line per finding, the fields above plus
// "type":"finding"; then one line "type":"summary" with clean, rounds,
// candidates, duration_ms, bind_probes, pids_checked, tasks_counted,
// tamper_hints and diagnostics. The summary line is
// always last, so a reader can tell a clean run from a truncated one.
import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux

extension Portcullis {
    struct Hidden: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find hidden ports: in use, but missing from netlink or /proc/net.",
            discussion: """
                Compares netlink sock_diag (every state), the /proc/net tables, bind probes of \
                every port 1-65535 (TCP and UDP, IPv4 and IPv6), connect probes on loopback and \
                the sockets processes hold. A discrepancy is reported only if it persists through \
                --rounds re-verifications. Run as root: without CAP_NET_BIND_SERVICE ports below \
                1024 cannot be probed.

                Also asks sockets that no table lists for their port (pidfd_getfd), finds processes \
                hidden from the /proc listing (the kernel's count of tasks against the listed \
                processes' threads; where they differ, a look-up of every pid up to pid_max), and \
                reports tamper hints (ld.so.preload, LD_PRELOAD, libc reads that differ from raw \
                system calls).

                Exit codes: 0 nothing hidden, 4 hidden ports or processes found, 2 usage error, \
                3 runtime error.
                """)

        @Option(help: "Output format: table (text), json or ndjson.")
        var format: OutputFormat = .table
        @Option(help: ArgumentHelp("Re-verification rounds a discrepancy must survive (1-20).", valueName: "N"))
        var rounds = 3
        @Flag(
            name: .customLong("all-netns"),
            help: "Also probe every other network namespace's ports from inside it (root; each costs about as much as the host's check).")
        var allNetns = false
        // No --proc-root: the probes test the live kernel, so the tables must
        // come from the same live kernel; a copied /proc would invent findings.

        func validate() throws {
            try format.require([.table, .json, .ndjson], command: "hidden")
            guard (1...20).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 20") }
        }

        func run() throws {
            var options = HiddenPortCheck.Options()
            options.rounds = rounds
            if Console.isTerminal(2) {
                options.progress = { line in Console.write("\r\u{1b}[2K" + line, to: 2) }
            }
            let report = try HiddenJob.run(options, allNetworkNamespaces: allNetns)
            if options.progress != nil { Console.write("\r\u{1b}[2K", to: 2) }
            reportDiagnostics(report.diagnostics)
            switch format {
            case .json: Console.print { HiddenRenderer.writeJSON(report, to: &$0) }
            case .ndjson: Console.print { HiddenRenderer.writeNDJSON(report, to: &$0) }
            case .table, .text, .csv, .junit: Console.print { HiddenRenderer.writeText(report, style: terminalStyle, to: &$0) }
            }
            if report.foundSomethingHidden { throw ExitStatus.hiddenFound.exit }
        }
    }
}
