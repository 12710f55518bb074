import NIOCore
import NIOPosix
import NIOSSL
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import PortcullisStore

/// `portcullis serve`: a Prometheus exporter, the JSON API and a dashboard
/// over HTTP or HTTPS. It audits at scrape time, runs the watch poller and
/// the hidden check in the background, and stops cleanly on SIGINT or SIGTERM.
public enum ServeJob {
    /// Where to listen, who may connect, and how the host is judged.
    public struct Options: Sendable {
        /// `--web.listen-address`.
        public var listen = ListenAddress.default
        /// `--web.config.file`, or nil for plain HTTP without authentication.
        public var webConfigFile: String?
        /// `--web.insecure`: serve beyond loopback without TLS or authentication.
        public var insecure = false
        /// How each scrape audits the host (the overview's options).
        public var overview = OverviewJob.Options()
        /// Which namespaces and container state the watch poller reads (as `watch`).
        public var watcher = ListenerWatcher.Options()
        /// `--watch-interval`, milliseconds.
        public var watchIntervalMilliseconds: Int64 = 1000
        /// `--hidden-interval`, milliseconds; 0 turns the hidden check off.
        public var hiddenIntervalMilliseconds: Int64 = 600_000
        /// The hidden check's re-verification rounds.
        public var hiddenRounds = 3
        /// `--max-series`.
        public var maxSeries = 10_000
        /// `--record`: the watch poller's events go to the history database.
        public var record = false
        /// `--db`, or nil for the default location.
        public var databasePath: String?
        /// `portcullis_build_info`'s version.
        public var version = "unknown"
        /// `portcullis_build_info`'s revision.
        public var revision = "unknown"
        /// Notices and warnings for the administrator (stderr).
        public var log: @Sendable (Diagnostic) -> Void = { _ in }

        /// Loopback, no TLS, every check on its default schedule.
        public init() {}
    }

    /// Reads and checks the web configuration, and refuses an exposed
    /// listener without TLS and authentication (unless `insecure`).
    /// Everything a usage error (exit 2) can say is said before serving.
    public static func prepare(_ options: Options) throws(JobError) -> WebConfig {
        var config = WebConfig()
        if let path = options.webConfigFile {
            let bytes: [UInt8]
            do { bytes = try HostFiles.readFile(path) } catch {
                throw .webConfig(WebConfigError(file: path, line: 0, column: 0, message: "cannot read it: \(error)"))
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .webConfig(WebConfigError(file: path, line: 0, column: 0, message: "it is not UTF-8 text"))
            }
            do { config = try WebConfig.parse(text, file: path) } catch { throw .webConfig(error) }
        }
        if let refusal = options.listen.refusal(for: config) {
            if !options.insecure { throw .invalidInput(refusal) }
            options.log(Diagnostic(.warning, "--web.insecure: serving \(options.listen) beyond loopback without TLS and authentication"))
        }
        return config
    }

    /// Serves until SIGINT or SIGTERM. `onListening` gets the bound address
    /// (the port the kernel chose for port 0).
    public static func run(_ options: Options, onListening: @escaping @Sendable (String) -> Void = { _ in }) throws(JobError) {
        let config = try prepare(options)
        let tls = try tlsContext(config.tls)
        let store: HistoryStore? = options.record ? try HistoryLocation.open(path: options.databasePath, mode: .readWrite) : nil

        // Stop on SIGINT or SIGTERM; a second one ends the process at once. Installed
        // before any thread starts: the background loops' sleeps wake on the same signal.
        do { try StopSignals.install() } catch { throw .system("handle SIGINT/SIGTERM", error) }
        // Two arenas before any thread starts: the hidden check's and the
        // collections' worker threads otherwise each leave an arena of freed pages behind.
        ServerHeap.limitArenas(2)
        let state = ExporterState()
        let stop = StopFlag()
        // The hidden check's probe sockets must not reach the watch poller or an audit (see ProbeExclusion).
        let exclusion = ProbeExclusion()
        let reads = PollReads(exclusion)
        var watchOptions = WatchSession.Options()
        watchOptions.intervalMilliseconds = options.watchIntervalMilliseconds
        watchOptions.watcher = options.watcher
        watchOptions.store = store
        watchOptions.sleep = { reads.sleep($0, stop: stop) }
        // The first poll happens before serving: once the address is
        // announced, every listener opened later is an event.
        let session = try WatchSession(watchOptions)
        state.learnStartingListeners(session.listeners, now: Clock.realtimeMilliseconds())
        state.record([], listenerCount: session.listenerCount, pollSeconds: 0, now: Clock.realtimeMilliseconds())
        // The session and its options (closures, a database handle) belong to the watch thread from here on.
        let handOff = HandOff((session, watchOptions, reads))
        let log = options.log
        BackgroundThread.start {
            WatchLoop.run(
                session: handOff.value.0, options: handOff.value.1, reads: handOff.value.2, state: state, stop: stop, log: log)
        }
        if options.hiddenIntervalMilliseconds > 0 {
            var hidden = HiddenPortCheck.Options()
            hidden.rounds = options.hiddenRounds
            let check = hidden
            let interval = options.hiddenIntervalMilliseconds
            BackgroundThread.start {
                HiddenLoop.run(options: check, intervalMilliseconds: interval, exclusion: exclusion, state: state, stop: stop, log: log)
            }
        }

        let responder = ExporterResponder(
            collector: AuditCollector(options: options.overview, exclusion: exclusion), state: state,
            authenticator: config.basicAuthUsers.isEmpty ? nil : BasicAuthenticator(users: config.basicAuthUsers),
            settings: ExporterResponder.Settings(
                maxSeries: options.maxSeries, version: options.version, revision: options.revision,
                hiddenEnabled: options.hiddenIntervalMilliseconds > 0, extraHeaders: config.headers))
        let scheme = tls == nil ? "http" : "https"
        let server: HTTPServer
        do {
            server = try HTTPServer(
                HTTPServer.Configuration(host: options.listen.host.description, port: Int(options.listen.port), tls: tls),
                group: MultiThreadedEventLoopGroup.singleton, responder: { await responder.respond(to: $0) })
        } catch {
            stop.set()
            throw .server("cannot serve on \(options.listen): \(error)")
        }
        let port = server.localAddress?.port ?? Int(options.listen.port)
        onListening("\(scheme)://\(ListenAddress(host: options.listen.host, port: UInt16(clamping: port)))")
        while !StopSignals.sleep(milliseconds: 3_600_000) {}
        stop.set()
        server.stop()
    }

    /// NIOSSL's context for `tls_server_config`; a file that cannot be loaded is a usage error naming it.
    static func tlsContext(_ tls: WebConfig.TLS?) throws(JobError) -> NIOSSLContext? {
        guard let tls else { return nil }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(tls.certificateFile) } catch {
            throw .invalidInput("cannot load the TLS certificate \(tls.certificateFile) (cert_file): \(error)")
        }
        guard !chain.isEmpty else {
            throw .invalidInput("the TLS certificate file \(tls.certificateFile) (cert_file) holds no PEM certificate")
        }
        do { key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem) } catch {
            throw .invalidInput("cannot load the TLS private key \(tls.keyFile) (key_file): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tls.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        if let maximum = tls.maximumVersion { configuration.maximumTLSVersion = maximum == .tls13 ? .tlsv13 : .tlsv12 }
        switch tls.clientAuth {
        case .none: configuration.certificateVerification = .none
        case .verifyIfGiven: configuration.certificateVerification = .optionalVerification
        case .requireAndVerify: configuration.certificateVerification = .noHostnameVerification
        }
        if let ca = tls.clientCAFile {
            do { _ = try NIOSSLCertificate.fromPEMFile(ca) } catch {
                throw .invalidInput("cannot load the client CA \(ca) (client_ca_file): \(error)")
            }
            configuration.trustRoots = .file(ca)
        }
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw .invalidInput("cannot use the TLS configuration: \(error)")
        }
    }
}
