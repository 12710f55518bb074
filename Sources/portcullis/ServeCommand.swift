import ArgumentParser
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisServer

extension Portcullis {
    /// `portcullis serve`: the exporter, API and dashboard (README "Serve: Prometheus, an API and a dashboard").
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve Prometheus metrics, the JSON API and a dashboard over HTTP(S).",
            discussion: """
                Audits the host at each scrape, runs the watch poller (events, first-seen times) and \
                the hidden-port check on its own schedule. Listens on 127.0.0.1:\(ListenAddress.defaultPort) unless \
                told otherwise; beyond loopback it needs TLS and authentication from --web.config.file \
                (the Prometheus exporter-toolkit format), or --web.insecure. SIGINT or SIGTERM stops it (exit 0).

                Exit codes: 0 stopped by a signal, 2 usage error (bad flag or web configuration, refused \
                insecure address), 3 runtime error (cannot listen).
                """)

        @Option(
            name: .customLong("web.listen-address"),
            help: ArgumentHelp(
                "Address and port to listen on: 127.0.0.1:\(ListenAddress.defaultPort), [::1]:PORT, :PORT (every IPv4 address).",
                valueName: "HOST:PORT"))
        var listenAddress = ListenAddress.default.description
        @Option(
            name: .customLong("web.config.file"),
            help: ArgumentHelp(
                "TLS and basic-auth settings in the exporter-toolkit format (tls_server_config, basic_auth_users).", valueName: "FILE"))
        var webConfigFile: String?
        @Flag(name: .customLong("web.insecure"), help: "Allow listening beyond loopback without TLS and authentication (warns).")
        var insecure = false
        @Option(
            name: .customLong("hidden-interval"),
            help: ArgumentHelp("Time between hidden-port checks, e.g. 10m or 1h; 0 turns the check off.", valueName: "DURATION")
        )
        var hiddenInterval = "10m"
        @Option(
            name: .customLong("watch-interval"),
            help: ArgumentHelp("Time between polls of the watch poller, 100ms to 1h.", valueName: "DURATION"))
        var watchInterval = "1s"
        @Option(
            name: .customLong("max-series"),
            help: ArgumentHelp("Most per-listener (and per-finding) series in a scrape; the rest are dropped and counted.", valueName: "N"))
        var maxSeries = 10_000
        @Flag(help: "Store the watch poller's events in the history database.")
        var record = false
        @OptionGroup var store: StoreFlags
        @OptionGroup var auditFlags: AuditFlags
        @OptionGroup var namespaces: NamespaceFlags
        @OptionGroup var containers: ContainerStateFlags

        func validate() throws {
            do { _ = try ListenAddress(parsing: listenAddress) } catch { throw ValidationError(error.description) }
            guard let hidden = PromDuration.milliseconds(hiddenInterval), hidden == 0 || hidden >= 60_000 else {
                throw ValidationError(
                    "invalid value '\(hiddenInterval)' for --hidden-interval: a duration of at least 1m such as 10m or 1h, or 0 for off")
            }
            guard let watch = PromDuration.milliseconds(watchInterval), (100...3_600_000).contains(watch) else {
                throw ValidationError("invalid value '\(watchInterval)' for --watch-interval: a duration from 100ms to 1h such as 1s")
            }
            guard (1...1_000_000).contains(maxSeries) else {
                throw ValidationError("invalid value '\(maxSeries)' for --max-series: a number from 1 to 1000000")
            }
            if store.db != nil && !record { throw ValidationError("--db is where --record stores events; add --record") }
            if let webConfigFile, webConfigFile.isEmpty { throw ValidationError("--web.config.file needs a file path") }
        }

        func run() throws {
            var options = ServeJob.Options()
            options.listen = (try? ListenAddress(parsing: listenAddress)) ?? .default
            options.webConfigFile = webConfigFile
            options.insecure = insecure
            let host = HostSource(namespaces: namespaces.selection, containerState: containers.roots)
            options.overview = OverviewJob.Options(audit: auditFlags.options(host: host))
            options.watcher.namespaces = namespaces.selection
            options.watcher.containerState = containers.roots ?? ContainerStateRoots()
            options.watchIntervalMilliseconds = PromDuration.milliseconds(watchInterval) ?? 1000
            options.hiddenIntervalMilliseconds = PromDuration.milliseconds(hiddenInterval) ?? 600_000
            options.maxSeries = maxSeries
            options.record = record
            options.databasePath = store.db
            options.version = Portcullis.version
            options.revision = Portcullis.revision
            options.log = { Console.error("portcullis: \($0)") }
            try ServeJob.run(options) { url in
                Console.error("portcullis: notice: serving \(url)/metrics, the API under \(url)/api/v1/ and the dashboard at \(url)/")
            }
            Console.error("portcullis: notice: stopped")
        }
    }
}
