import Foundation
import Testing

@testable import PortcullisCore

@Suite("serve: exposition, web config, listen address, durations")
struct ServeCoreTests {
    // MARK: exposition format

    @Test("label values and help are escaped as the text format requires; values print as Prometheus reads them")
    func escaping() {
        let family = MetricFamily(
            "portcullis_listener_info", .gauge, help: "a \\ help\nline",
            samples: [.init([("command", "evil\"name\\\n{x}")], 1), .init([], 0.25), .init([], .infinity), .init([], .nan)])
        #expect(
            PrometheusText.text([family]) == """
                # HELP portcullis_listener_info a \\\\ help\\nline
                # TYPE portcullis_listener_info gauge
                portcullis_listener_info{command="evil\\"name\\\\\\n{x}"} 1
                portcullis_listener_info 0.25
                portcullis_listener_info +Inf
                portcullis_listener_info NaN

                """)
        #expect(PrometheusText.format(1_796_535_750.502) == "1796535750.502")
        #expect(PrometheusText.format(-3) == "-3")
        #expect(PrometheusText.format(1e300) == "1e+300")
    }

    // MARK: metrics from a view

    static func listener(_ port: UInt16, address: String = "0.0.0.0", name: String, pid: Int32, findings: [Finding] = []) -> AuditedListener
    {
        let entry = AuditFixtures.entry(
            .tcp, address, port, owners: [AuditFixtures.owner(pid, name, exe: "/usr/bin/" + name)], inode: UInt64(port) * 10 + UInt64(pid))
        return AuditedListener(entry: entry, firewall: nil, reachable: address != "127.0.0.1", findings: findings)
    }

    static func lines(_ families: [MetricFamily], _ name: String) -> [String] {
        PrometheusText.text(families).split(separator: "\n").map(String.init).filter {
            $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ")
        }
    }

    @Test("one info series per listener key: an SO_REUSEPORT group merges its owners; pids never appear")
    func infoSeries() {
        var view = ExporterView()
        view.listeners = [
            Self.listener(80, name: "nginx", pid: 10), Self.listener(80, name: "nginx", pid: 11), Self.listener(22, name: "sshd", pid: 5),
        ]
        view.firstSeen = [ListenerKey(view.listeners[0].entry): 1_796_000_000_000]
        let families = ExporterMetrics.families(view)
        let info = Self.lines(families, "portcullis_listener_info")
        #expect(info.count == 2)
        #expect(
            info.contains(
                "portcullis_listener_info{namespace=\"host\",container=\"\",proto=\"tcp\",address=\"0.0.0.0\",port=\"80\",exposure=\"all_interfaces_ipv4\",service=\"\",command=\"nginx\",unit=\"\",verdict=\"open\"} 1"
            ), "\(info)")
        #expect(!PrometheusText.text(families).contains("pid"))
        #expect(
            Self.lines(families, "portcullis_listener_first_seen_timestamp_seconds") == [
                "portcullis_listener_first_seen_timestamp_seconds{namespace=\"host\",container=\"\",proto=\"tcp\",address=\"0.0.0.0\",port=\"80\"} 1796000000"
            ])
        #expect(
            Self.lines(families, "portcullis_listeners") == ["portcullis_listeners{exposure=\"all_interfaces_ipv4\",verdict=\"open\"} 3"])
        #expect(Self.lines(families, "portcullis_series_truncated") == ["portcullis_series_truncated 0"])
    }

    @Test("--max-series keeps the worst listeners and says how many it dropped")
    func seriesCap() {
        var view = ExporterView()
        let redis = AuditFixtures.audit([
            AuditFixtures.entry(
                .tcp, "0.0.0.0", 6379, owners: [AuditFixtures.owner(7, "redis-server", exe: "/usr/bin/redis-server")], inode: 1)
        ])
        #expect(!redis.findings.isEmpty)
        view.listeners =
            (1...5).map { Self.listener(UInt16(8000 + $0), address: "127.0.0.1", name: "app", pid: Int32($0)) } + redis.listeners
        view.findings = redis.findings
        view.maxSeries = 2
        let families = ExporterMetrics.families(view)
        let info = Self.lines(families, "portcullis_listener_info")
        #expect(info.count == 2)
        #expect(info.first?.contains("port=\"6379\"") == true, "the worst verdict is kept first: \(info)")
        #expect(Self.lines(families, "portcullis_series_dropped") == ["portcullis_series_dropped 4"])
        #expect(Self.lines(families, "portcullis_series_truncated") == ["portcullis_series_truncated 1"])
        // Aggregates are never capped: they count every listener.
        #expect(Self.lines(families, "portcullis_listeners").contains("portcullis_listeners{exposure=\"loopback\",verdict=\"ok\"} 5"))
        let finding = redis.findings[0]
        #expect(
            Self.lines(families, "portcullis_findings").contains(
                "portcullis_findings{severity=\"\(finding.severity.rawValue)\",rule=\"\(finding.rule.rawValue)\"} 1"))
        #expect(Self.lines(families, "portcullis_finding_info").first?.contains("id=\"\(finding.id)\"") == true)
    }

    @Test("before the first hidden check its gauges are absent, not zero; after one they report it")
    func hiddenGauges() {
        var view = ExporterView()
        #expect(Self.lines(ExporterMetrics.families(view), "portcullis_hidden_ports").isEmpty)
        #expect(Self.lines(ExporterMetrics.families(view), "portcullis_hidden_check_timestamp_seconds").isEmpty)
        let hiddenPort = HiddenFinding(
            technique: .hiddenFromAllReaders, key: PortKey(.tcp, .ipv4, 31337), inode: nil, seenBy: [.bindProbe],
            notSeenBy: [.netlink, .procNet], ownerPIDs: [], alarm: true, explanation: "in use, in no table")
        let report = HiddenReport(
            findings: [hiddenPort], diagnostics: [], sweeps: [], candidates: 1, rounds: 3, durationMilliseconds: 900, tamperHints: [])
        view.hidden = ExporterView.HiddenStatus(finishedAtMilliseconds: 1_796_000_000_500, durationMilliseconds: 900, report: report)
        let families = ExporterMetrics.families(view)
        #expect(Self.lines(families, "portcullis_hidden_ports") == ["portcullis_hidden_ports 1"])
        #expect(Self.lines(families, "portcullis_hidden_processes") == ["portcullis_hidden_processes 0"])
        #expect(
            Self.lines(families, "portcullis_hidden_check_timestamp_seconds") == ["portcullis_hidden_check_timestamp_seconds 1796000000.5"])
        view.hidden = ExporterView.HiddenStatus(finishedAtMilliseconds: 1, durationMilliseconds: 1, report: nil, error: "no table")
        #expect(Self.lines(ExporterMetrics.families(view), "portcullis_hidden_check_success") == ["portcullis_hidden_check_success 0"])
        #expect(Self.lines(ExporterMetrics.families(view), "portcullis_hidden_ports").isEmpty)
    }

    // MARK: web configuration

    static let hash = "$2y$10$HrTOoHqerTb9AehNgthTzeCnCpPhVeO0bbkC1ztWwmta/gDKDhUnO"

    @Test("the exporter-toolkit format: TLS files relative to the config, users, headers")
    func webConfig() throws {
        let yaml = """
            tls_server_config:
              cert_file: tls/server.crt
              key_file: /etc/ssl/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.pem
              min_version: TLS13
            basic_auth_users:
              prometheus: \(Self.hash)
            http_server_config:
              headers:
                Strict-Transport-Security: max-age=31536000
            """
        let config = try WebConfig.parse(yaml, file: "/etc/portcullis/web.yml")
        #expect(config.tls?.certificateFile == "/etc/portcullis/tls/server.crt")
        #expect(config.tls?.keyFile == "/etc/ssl/server.key")
        #expect(config.tls?.clientCAFile == "/etc/portcullis/ca.pem")
        #expect(config.tls?.clientAuth == .requireAndVerify && config.tls?.minimumVersion == .tls13)
        #expect(config.basicAuthUsers == ["prometheus": Self.hash])
        #expect(config.headers.map(\.0) == ["Strict-Transport-Security"])
        #expect(config.authenticatesClients)
        #expect(try WebConfig.parse("", file: "web.yml") == WebConfig())
        #expect(try WebConfig.parse("tls_server_config:\n  cert_file: a\n  key_file: b\n", file: "web.yml").tls?.certificateFile == "./a")
    }

    @Test(
        "mistakes are named with file, line and column",
        arguments: [
            ("basic_auth_users:\n  alice: secret\n", "web.yml:2:10: the password of 'alice' is not a bcrypt hash"),
            ("basic_auth_users:\n  'a:b': \(hash)\n", "web.yml:2:3: a basic-auth user name cannot contain ':'"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS11\n", "web.yml:4:16: unsupported min_version 'TLS11'"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n", "client_ca_file"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [x]\n", "web.yml:4:3: cipher_suites is not supported"),
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS12\n  min_version: TLS13\n",
                "max_version TLS12 is below"
            ),
            ("http_server_config:\n  headers:\n    'Bad Name': x\n", "is not a valid HTTP header name"),
            ("basic_auth_users: &a\n  x: y\n", "anchors"),
            ("tls_server_config: [\n", "web.yml:"),
        ])
    func webConfigErrors(yaml: String, expected: String) {
        #expect {
            try WebConfig.parse(yaml, file: "web.yml")
        } throws: { error in
            String(describing: error).contains(expected)
        }
    }

    @Test("bcrypt hashes are recognised by shape")
    func bcryptShape() {
        #expect(BcryptHash.isWellFormed(Self.hash))
        #expect(BcryptHash.isWellFormed("$2b$" + Self.hash.dropFirst(4)))
        #expect(!BcryptHash.isWellFormed("$2x$" + Self.hash.dropFirst(4)))
        #expect(!BcryptHash.isWellFormed("$2y$03$" + Self.hash.dropFirst(7)))
        #expect(!BcryptHash.isWellFormed(String(Self.hash.dropLast())))
        #expect(!BcryptHash.isWellFormed(String(Self.hash.dropLast()) + "!"))
    }

    @Test("Basic credentials decode; anything else is refused")
    func basicCredentials() {
        let good = BasicCredentials(authorization: "Basic " + Data("prometheus:pa:ss".utf8).base64EncodedString())
        #expect(good?.user == "prometheus" && good?.password == "pa:ss")
        #expect(BasicCredentials(authorization: "basic " + Data("a:".utf8).base64EncodedString())?.password == "")
        for bad in [
            "Bearer abc", "Basic", "Basic !!!!", "Basic " + Data("no-colon".utf8).base64EncodedString(), "Basic YWJj", "Basic /w==",
        ] {
            #expect(BasicCredentials(authorization: bad) == nil, "\(bad)")
        }
        for text in ["", "a", "ab", "abc", "abcd", "\u{0}\u{ff}"] {
            #expect(BasicCredentials.base64Decode(Data(text.utf8).base64EncodedString().utf8) == Array(text.utf8))
        }
    }

    // MARK: requests

    @Test("request targets: origin and absolute form, queries percent-decoded, malformed escapes kept")
    func requestTargets() {
        let plain = RequestTarget("/api/v1/events?after=12&x=a%20b+c&flag&after=99")
        #expect(plain.path == "/api/v1/events")
        #expect(plain.queryValue("after") == "12", "the first value wins")
        #expect(plain.queryValue("x") == "a b c")
        #expect(plain.queryValue("flag") == "")
        #expect(plain.queryValue("absent") == nil)
        #expect(RequestTarget("/metrics").path == "/metrics" && RequestTarget("/metrics").query.isEmpty)
        #expect(RequestTarget("/metrics?").query.isEmpty)
        // What a proxy sends: the scheme and authority go, the path and query stay.
        #expect(RequestTarget("http://10.0.0.1:9633/metrics?after=1") == RequestTarget("/metrics?after=1"))
        #expect(RequestTarget("http://host").path == "/")
        #expect(RequestTarget("https://host?after=2").queryValue("after") == "2")
        // Forms without a path route nowhere.
        #expect(RequestTarget("*").path == "*")
        #expect(RequestTarget("host:9633").path == "*")
        #expect(RequestTarget("").path == "*")
        // Escapes: bad ones are kept as written, a truncated one too; bytes that are not UTF-8 are replaced.
        #expect(RequestTarget("/?v=%zz%4").queryValue("v") == "%zz%4")
        #expect(RequestTarget("/?v=%41%62").queryValue("v") == "Ab")
        #expect(RequestTarget("/?v=%ff").queryValue("v") == "\u{fffd}")
        #expect(RequestTarget("/?%61fter=5").queryValue("after") == "5")
    }

    @Test("HTTP dates are IMF-fixdate in GMT, weekday included")
    func httpDates() {
        #expect(Timestamp.httpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(Timestamp.httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")  // RFC 9110's example
        #expect(Timestamp.httpDate(1_796_601_600) == "Mon, 07 Dec 2026 00:00:00 GMT")
        #expect(Timestamp.httpDate(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(Timestamp.httpDate(-1) == "Wed, 31 Dec 1969 23:59:59 GMT")
        #expect(Timestamp.iso8601(784_111_777) == "1994-11-06T08:49:37Z")
    }

    // MARK: listen address and refusal

    @Test("listen addresses as exporters spell them")
    func listenAddress() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:9638") == .default)
        #expect(try ListenAddress(parsing: "[::1]:80").description == "[::1]:80")
        #expect(try ListenAddress(parsing: "localhost:1").isLoopbackOnly)
        #expect(try ListenAddress(parsing: ":9638").host == .anyV4)
        for bad in ["9638", "127.0.0.1", "::1:80", "example.com:80", "127.0.0.1:70000", "[::1]:x"] {
            #expect(throws: FilterError.self, "\(bad)") { try ListenAddress(parsing: bad) }
        }
    }

    @Test("beyond loopback needs TLS and authentication")
    func refusal() throws {
        let exposed = try ListenAddress(parsing: "0.0.0.0:9638")
        #expect(ListenAddress.default.refusal(for: WebConfig()) == nil)
        #expect(exposed.refusal(for: WebConfig())?.contains("no TLS (tls_server_config) and no authentication") == true)
        var config = WebConfig()
        config.tls = WebConfig.TLS(certificateFile: "a", keyFile: "b")
        #expect(exposed.refusal(for: config)?.contains("no authentication") == true)
        config.basicAuthUsers = ["p": Self.hash]
        #expect(exposed.refusal(for: config) == nil)
        config.basicAuthUsers = [:]
        config.tls?.clientAuth = .requireAndVerify
        #expect(exposed.refusal(for: config) == nil, "client certificates are authentication")
    }

    @Test("durations as Prometheus writes them")
    func durations() {
        #expect(PromDuration.milliseconds("10m") == 600_000)
        #expect(PromDuration.milliseconds("1h30m") == 5_400_000)
        #expect(PromDuration.milliseconds("250ms") == 250)
        #expect(PromDuration.milliseconds("0") == 0)
        for bad in ["", "10", "m", "1m1h", "1s1s", "-1s", "1.5s", "99999999999999999999w"] {
            #expect(PromDuration.milliseconds(bad) == nil, "\(bad)")
        }
    }
}
