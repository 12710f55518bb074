import NIOHTTP1
import PortcullisCore
import PortcullisJobs
import PortcullisLinux

/// Every endpoint of `portcullis serve`: one switch over the path, so the
/// whole surface is visible in one place. Only GET and HEAD are served.
struct ExporterResponder: Sendable {
    let collector: AuditCollector
    let state: ExporterState
    let authenticator: BasicAuthenticator?
    let settings: Settings
    let rendered = RenderedMetrics()

    /// What the responder needs from the options, all Sendable.
    struct Settings: Sendable {
        var maxSeries: Int
        var version: String
        var revision: String
        var hiddenEnabled: Bool
        var extraHeaders: [(String, String)]
    }

    func respond(to request: HTTPRequest) async -> HTTPReply {
        var response = await route(request)
        // Names and values were checked when the web configuration was read (tokens, no line breaks).
        for (name, value) in settings.extraHeaders { response.set(name, value) }
        response.set("X-Content-Type-Options", "nosniff")
        response.set("Cache-Control", "no-store")
        return response
    }

    func route(_ request: HTTPRequest) async -> HTTPReply {
        let path = request.target.path
        let known = [
            "/", "/metrics", "/healthz", "/api/v1/listeners", "/api/v1/audit", "/api/v1/hidden", "/api/v1/events", "/api/v1/history",
        ]
        guard known.contains(path) else {
            return Self.text(.notFound, "not found: \(Self.printable(path)); endpoints: \(known.joined(separator: ", "))\n")
        }
        guard request.method == .GET || request.method == .HEAD else {
            var response = Self.text(.methodNotAllowed, "\(Self.printable(request.method.rawValue)) is not allowed; use GET\n")
            response.set("Allow", "GET, HEAD")
            return response
        }
        // Liveness for load balancers and systemd: says only "ok", so it needs no password.
        if path == "/healthz" { return Self.text(.ok, "ok\n") }
        if let authenticator, let refusal = await authenticator.check(request.headers.first(name: "Authorization")) { return refusal }
        switch path {
        case "/metrics": return await metrics()
        case "/api/v1/listeners", "/api/v1/audit": return await audit(listenersOnly: path == "/api/v1/listeners")
        case "/api/v1/hidden": return hidden()
        case "/api/v1/events": return events(request.target.queryValue("after"))
        case "/api/v1/history": return history()
        default: return dashboard()
        }
    }

    // MARK: endpoints

    func metrics() async -> HTTPReply {
        let collection = await collector.collect()
        // Scrapes that shared an audit share its exposition too: rendering
        // 10,000 listeners fifty times over would cost more than the audit.
        if let bytes = rendered.bytes(for: collection.runs) {
            return Self.body(.ok, bytes, contentType: PrometheusText.contentType)
        }
        var view = ExporterView()
        let now = Clock.realtimeMilliseconds()
        if let report = collection.report {
            view.listeners = report.audit.listeners
            view.findings = report.audit.findings
            view.diagnostics = report.diagnostics
            view.firstSeen = state.firstSeen(for: report.audit.listeners.map { ListenerKey($0.entry) }, now: now)
        }
        let shared = state.snapshot
        view.hidden = shared.hidden
        view.collectors = [
            ExporterView.CollectorStatus(name: "audit", success: collection.report != nil, durationSeconds: collection.seconds)
        ]
        if let hidden = shared.hidden {
            view.collectors.append(
                ExporterView.CollectorStatus(
                    name: "hidden", success: hidden.report != nil, durationSeconds: Double(hidden.durationMilliseconds) / 1000))
        }
        view.collectors.append(shared.watch)
        view.watchEvents = shared.eventCounts
        view.auditRuns = collection.runs
        view.maxSeries = settings.maxSeries
        view.version = settings.version
        view.revision = settings.revision
        view.process = OwnProcess.figures()
        var out = OutputSink()
        PrometheusText.write(ExporterMetrics.families(view), to: &out)
        rendered.keep(out.bytes, for: collection.runs)
        return Self.body(.ok, out.bytes, contentType: PrometheusText.contentType)
    }

    func audit(listenersOnly: Bool) async -> HTTPReply {
        let collection = await collector.collect()
        guard let report = collection.report else {
            return Self.json(
                .internalServerError, .object([("error", .string("the audit failed: \(collection.error ?? "unknown error")"))]))
        }
        var out = OutputSink()
        if listenersOnly {
            // `list --format json`, each socket with the overview's verdict.
            InventoryRenderer.writeJSON(
                report.inventory, entries: report.entries,
                extra: { entry in
                    guard let listener = report.listener(inode: entry.socket.inode) else { return [] }
                    return [("verdict", .string(listener.verdict.jsonName)), ("verdict_reason", .string(listener.verdictReason))]
                }, to: &out)
        } else {
            AuditRenderer.writeJSON(report.audit, failOn: .high, diagnostics: report.diagnostics, to: &out)
        }
        return Self.body(.ok, out.bytes, contentType: "application/json")
    }

    func hidden() -> HTTPReply {
        guard settings.hiddenEnabled else {
            return Self.json(
                .notFound, .object([("state", .string("disabled")), ("error", .string("the hidden check is off (--hidden-interval 0)"))]))
        }
        let shared = state.snapshot
        let next: JSONValue = shared.hiddenNextAt.map { .string(Timestamp.iso8601Milliseconds($0)) } ?? .null
        guard let status = shared.hidden else {
            var response = Self.json(
                .serviceUnavailable,
                .object([
                    ("state", .string("pending")),
                    ("started_at", shared.hiddenStartedAt.map { .string(Timestamp.iso8601Milliseconds($0)) } ?? .null),
                ]))
            response.set("Retry-After", "30")
            return response
        }
        let checked: JSONValue = .string(Timestamp.iso8601Milliseconds(status.finishedAtMilliseconds))
        guard let report = status.report, case .object(let fields) = HiddenRenderer.json(report) else {
            return Self.json(
                .serviceUnavailable,
                .object([
                    ("state", .string("failed")), ("error", .string(status.error ?? "unknown error")), ("checked_at", checked),
                    ("next_check_at", next),
                ]))
        }
        let running: JSONValue = shared.hiddenStartedAt.map { .string(Timestamp.iso8601Milliseconds($0)) } ?? .null
        return Self.json(
            .ok,
            .object([("state", .string("done")), ("checked_at", checked), ("next_check_at", next), ("running_since", running)] + fields))
    }

    func events(_ after: String?) -> HTTPReply {
        var since: Int64 = 0
        if let after {
            guard let value = Int64(after), value >= 0 else {
                return Self.json(
                    .badRequest,
                    .object([
                        (
                            "error",
                            .string("invalid value '\(Self.printable(after))' for after: give the id of the last event seen (0 or more)")
                        )
                    ]))
            }
            since = value
        }
        let (events, last) = state.events(after: since)
        return Self.json(.ok, .object([("events", .array(events.map(\.json))), ("last_id", .int(last))]))
    }

    func history() -> HTTPReply {
        let samples = state.snapshot.counts.map { sample -> JSONValue in
            .object([("time", .string(Timestamp.iso8601(sample.minute))), ("listeners", .int(Int64(sample.listeners)))])
        }
        return Self.json(.ok, .object([("samples", .array(samples))]))
    }

    func dashboard() -> HTTPReply {
        var response = Self.body(.ok, Array(DashboardPage.html.utf8), contentType: "text/html; charset=utf-8")
        // The page's script and style are inline; it talks to this origin only and loads nothing else.
        response.set(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        response.set("Referrer-Policy", "no-referrer")
        return response
    }

    // MARK: responses

    static func body(_ status: HTTPResponseStatus, _ bytes: [UInt8], contentType: String) -> HTTPReply {
        HTTPReply(status, body: bytes, contentType: contentType)
    }

    static func text(_ status: HTTPResponseStatus, _ text: String) -> HTTPReply {
        body(status, Array(text.utf8), contentType: "text/plain; charset=utf-8")
    }

    static func json(_ status: HTTPResponseStatus, _ value: JSONValue) -> HTTPReply {
        var out = OutputSink()
        out.writeDocument(value)
        return body(status, out.bytes, contentType: "application/json")
    }

    /// A request's own text, escaped and cut short, for an error message.
    static func printable(_ text: String) -> String { UntrustedText.escape(String(text.prefix(200))) }
}

/// The exposition of the last audit, for the scrapes that shared it.
final class RenderedMetrics: Sendable {
    let last = Locked<(run: Int, bytes: [UInt8])?>(nil)

    /// The bytes rendered for audit number `run`, if they are the last ones.
    func bytes(for run: Int) -> [UInt8]? { last.withLock { $0?.run == run ? $0?.bytes : nil } }

    func keep(_ bytes: [UInt8], for run: Int) { last.withLock { $0 = (run, bytes) } }
}
