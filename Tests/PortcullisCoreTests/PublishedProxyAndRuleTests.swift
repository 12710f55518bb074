import Testing

@testable import PortcullisCore

@Suite struct UserlandProxyTests {
    /// dockerd's own argv (moby daemon/libnetwork/portmapper/proxy_linux.go), and the spellings Go's flag package also accepts.
    @Test(arguments: [
        [
            "/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8080", "-container-ip", "172.17.0.2",
            "-container-port", "80",
        ],
        [
            "/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip", "0.0.0.0", "-host-port", "8080", "-container-ip", "172.17.0.2",
            "-container-port", "80",
            "-use-listen-fd",
        ],
        ["docker-proxy", "--proto=tcp", "--host-ip=0.0.0.0", "--host-port=8080", "--container-ip=172.17.0.2", "--container-port=80"],
        ["docker-proxy", "-host-port=8080", "-container-ip", "172.17.0.2", "-container-port", "80"],
        [
            "/usr/bin/nsenter", "-n/run/user/1000/docker/netns", "-F", "--", "/usr/bin/docker-proxy", "-proto", "tcp", "-host-ip",
            "0.0.0.0",
            "-host-port", "8080", "-container-ip", "172.17.0.2", "-container-port", "80",
        ],
    ])
    func dockerProxy(_ argv: [String]) throws {
        let scan = try #require(UserlandProxy.dockerProxy(argv: argv, pid: 4242))
        #expect(scan.diagnostics.isEmpty, "\(scan.diagnostics)")
        #expect(scan.ports.map(\.summary) == ["0.0.0.0:8080/tcp -> 172.17.0.2:80 (docker-proxy)"])
        #expect(scan.ports.first?.pid == 4242)
        #expect(scan.ports.first?.isOnEveryAddress == true)
    }

    @Test func dockerProxyOtherShapes() throws {
        let v6 = try #require(
            UserlandProxy.dockerProxy(argv: [
                "docker-proxy", "-proto", "udp", "-host-ip", "::1", "-host-port", "5353", "-container-ip", "fd00::5", "-container-port",
                "53",
            ]))
        #expect(v6.ports.map(\.summary) == ["[::1]:5353/udp -> [fd00::5]:53 (docker-proxy)"])
        #expect(v6.ports.first?.exposure == .loopback)
        let sctp = try #require(
            UserlandProxy.dockerProxy(argv: [
                "docker-proxy", "-proto", "sctp", "-host-port", "9", "-container-ip", "10.0.0.1", "-container-port", "9",
            ]))
        #expect(sctp.ports.isEmpty && sctp.diagnostics.contains { $0.message.contains("not TCP or UDP") })
        let missing = try #require(UserlandProxy.dockerProxy(argv: ["docker-proxy", "-proto", "tcp", "-bogus", "1"]))
        #expect(missing.ports.isEmpty)
        #expect(missing.diagnostics.contains { $0.message.contains("unknown flag -bogus") })
        #expect(missing.diagnostics.contains { $0.message.contains("no -host-port") })
        #expect(UserlandProxy.dockerProxy(argv: ["/usr/bin/dockerd"]) == nil)
        #expect(UserlandProxy.dockerProxy(argv: []) == nil)
    }

    /// Podman's pasta argv (containers/common libnetwork/pasta).
    @Test func pasta() throws {
        let argv = [
            "/usr/bin/pasta", "--config-net", "-t", "8080-8080:80-80", "-t", "127.0.0.1/5432-5432:5432-5432", "-u", "none", "-T", "none",
            "--udp-ports=192.0.2.1%eth0/53", "-t9000-9001:9100-9101", "--no-map-gw", "--quiet", "--netns", "/run/user/1000/netns/netns-1",
        ]
        let scan = try #require(UserlandProxy.pasta(argv: argv, pid: 7))
        #expect(scan.diagnostics.isEmpty, "\(scan.diagnostics)")
        #expect(
            scan.ports.map(\.summary) == [
                "0.0.0.0:8080/tcp -> container namespace:80 (pasta)", "[::]:8080/tcp -> container namespace:80 (pasta)",
                "127.0.0.1:5432/tcp -> container namespace:5432 (pasta)", "192.0.2.1:53/udp -> container namespace:53 (pasta)",
                "0.0.0.0:9000-9001/tcp -> container namespace:9100-9101 (pasta)",
                "[::]:9000-9001/tcp -> container namespace:9100-9101 (pasta)",
            ])
        #expect(scan.ports.first { $0.proto == .udp }?.inputInterfaces == .only(["eth0"]))
        #expect(scan.ports.last?.targetPort(forHostPort: 9001) == 9101)
        let auto = try #require(UserlandProxy.pasta(argv: ["pasta", "-t", "auto", "-u", "~53,100-", "--tcp-ports"]))
        #expect(auto.ports.isEmpty)
        #expect(auto.diagnostics.count == 4, "\(auto.diagnostics)")
        #expect(UserlandProxy.pasta(argv: ["passt"]) == nil)
    }

    /// rootlessport has no ports in argv: its sockets are the host side.
    @Test func rootlessport() throws {
        let listeners = [
            ListeningEndpoint(proto: .tcp, address: .anyV4, port: 8080),
            ListeningEndpoint(proto: .udp, address: IPAddress(v4: 127, 0, 0, 1), port: 5353),
        ]
        let scan = try #require(UserlandProxy.publishedPorts(argv: ["/usr/libexec/podman/rootlessport"], pid: 99, listeners: listeners))
        #expect(scan.ports.map(\.hostEndpoint) == ["0.0.0.0:8080/tcp", "127.0.0.1:5353/udp"])
        #expect(scan.ports.allSatisfy { $0.tool == .rootlessport && $0.target == nil && $0.targetUnreadable?.contains("stdin") == true })
        let child = try #require(UserlandProxy.publishedPorts(argv: ["rootlessport-child"], listeners: listeners))
        #expect(child.ports.isEmpty)
        let podman3 = try #require(UserlandProxy.rootlessport(argv: ["containers-rootlessport"], listeners: listeners))
        #expect(podman3.ports.count == 2)
        #expect(UserlandProxy.publishedPorts(argv: ["/usr/sbin/sshd", "-D"], listeners: listeners) == nil)
    }

    @Test func listenerMatching() {
        let wildcard6 = ListeningEndpoint(proto: .tcp, address: .anyV6, port: 80)
        #expect(wildcard6.accepts(proto: .tcp, address: IPAddress(v4: 10, 0, 0, 2), port: 80))
        #expect(!wildcard6.accepts(proto: .udp, address: IPAddress(v4: 10, 0, 0, 2), port: 80))
        let wildcard4 = ListeningEndpoint(proto: .tcp, address: .anyV4, port: 80)
        #expect(!wildcard4.accepts(proto: .tcp, address: IPAddress(parsing: "fd00::2")!, port: 80))
        let specific = ListeningEndpoint(proto: .tcp, address: IPAddress(v4: 10, 0, 0, 2), port: 80)
        #expect(!specific.accepts(proto: .tcp, address: IPAddress(v4: 10, 0, 0, 3), port: 80))
    }
}

@Suite struct PublishedPortRuleTests {
    static func judged(_ shape: String, _ port: UInt16, proto: TransportProtocol = .tcp) throws -> (PortPublication, PublishedPortJudgement)
    {
        let model = try PublishedFixture.model(shape)
        let found = try #require(model.publishedPorts().ports.first { $0.hostPorts.contains(port) && $0.proto == proto })
        return (found, model.judge(found))
    }

    static let container = TargetNamespace(
        name: "container web (172.17.0.2)", addresses: [IPAddress(v4: 172, 17, 0, 2)],
        listeners: [ListeningEndpoint(proto: .tcp, address: .anyV4, port: 80)])

    @Test func bypassIsFoundWithTheFixes() throws {
        let (port, judgement) = try Self.judged("docker-classic", 8080)
        let findings = PublishedPortRules.findings(for: port, judgement: judgement, namespaces: [Self.container])
        #expect(findings.map(\.rule) == [.publishedPortBypassesInput])
        let finding = try #require(findings.first)
        #expect(finding.severity == .high)
        #expect(finding.title == "0.0.0.0:8080/tcp is reachable from other hosts through docker's DNAT although the input chain drops it")
        #expect(finding.subject?.port == 8080 && finding.subject?.exposure == .allInterfacesIPv4 && finding.subject?.inode == 0)
        #expect(finding.evidence.contains { $0.contains("(ip nat DOCKER, handle 14)") })
        #expect(finding.evidence.contains { $0.hasPrefix("input chain, for the same port: filtered") })
        #expect(finding.remediation.contains("docker run -p 127.0.0.1:8080:80"))
        #expect(finding.remediation.contains("iptables -I DOCKER-USER -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j DROP"))
        #expect(finding.remediation.contains("ct original proto-dst 8080 drop"))

        // A restricted bypass is less severe; a filtered or loopback one is no finding.
        let (mongo, mongoJudged) = try Self.judged("docker-user-drop", 27017)
        let restricted = PublishedPortRules.findings(for: mongo, judgement: mongoJudged, namespaces: [])
        #expect(restricted.first { $0.rule == .publishedPortBypassesInput }?.severity == .medium)
        let (web, webJudged) = try Self.judged("docker-user-drop", 8080)
        #expect(PublishedPortRules.findings(for: web, judgement: webJudged, namespaces: [Self.container]).isEmpty)
        let (redis, redisJudged) = try Self.judged("docker-classic", 6379)
        #expect(PublishedPortRules.findings(for: redis, judgement: redisJudged, namespaces: []).isEmpty)
        // Without a judgement there is no bypass claimed.
        #expect(!PublishedPortRules.findings(for: port, judgement: nil, namespaces: []).contains { $0.rule == .publishedPortBypassesInput })
    }

    @Test func nothingListeningBehind() throws {
        let (port, judgement) = try Self.judged("docker-classic", 8080)
        let empty = TargetNamespace(
            name: "container web (172.17.0.2)", addresses: [IPAddress(v4: 172, 17, 0, 2)],
            listeners: [ListeningEndpoint(proto: .tcp, address: .anyV4, port: 8000)])
        let findings = PublishedPortRules.findings(for: port, judgement: judgement, namespaces: [empty])
        let finding = try #require(findings.first { $0.rule == .publishedPortWithoutListener })
        #expect(finding.severity == .medium)
        #expect(finding.title == "0.0.0.0:8080/tcp is published to 172.17.0.2:80, where nothing listens")
        #expect(finding.evidence.contains { $0.contains("it listens on 0.0.0.0:8000") })
        // A namespace that was not read (another node's pod) is never called empty.
        #expect(
            !PublishedPortRules.findings(for: port, judgement: judgement, namespaces: []).contains {
                $0.rule == .publishedPortWithoutListener
            })
        // A listener on the target's own address counts; one on another address does not.
        let specific = TargetNamespace(
            name: "c", addresses: [IPAddress(v4: 172, 17, 0, 2)],
            listeners: [ListeningEndpoint(proto: .tcp, address: IPAddress(v4: 172, 17, 0, 2), port: 80)])
        #expect(
            !PublishedPortRules.findings(for: port, judgement: judgement, namespaces: [specific]).contains {
                $0.rule == .publishedPortWithoutListener
            })
        // A REDIRECT leads to the host's own sockets.
        let nat = try FirewallFixture.model("nat")
        let redirect = try #require(nat.publishedPorts().ports.first { $0.target?.isThisHost == true })
        let host = TargetNamespace(name: "host", addresses: [], isHost: true, listeners: [])
        let redirectFindings = PublishedPortRules.findings(for: redirect, judgement: nat.judge(redirect), namespaces: [host])
        #expect(redirectFindings.contains { $0.rule == .publishedPortWithoutListener && $0.title.contains("this host:8080") })
    }

    @Test func datastoreAndAdminOnEveryAddress() throws {
        let (mongo, judgement) = try Self.judged("docker-classic", 27017)
        let findings = PublishedPortRules.findings(for: mongo, judgement: judgement, namespaces: [])
        let datastore = try #require(findings.first { $0.rule == .publishedDatastore })
        #expect(datastore.title.hasPrefix("MongoDB published on every address: 0.0.0.0:27017/tcp -> 172.17.0.5:27017 (docker)"))
        #expect(datastore.severity == .high)
        #expect(datastore.remediation.hasPrefix("Publish it on loopback only (docker run -p 127.0.0.1:27017:27017"))
        // The service is recognised by the port behind the publication, not only the host port.
        let admin = try PublishedFixture.model("admin-dnat")
        let elastic = try #require(admin.publishedPorts().ports.first { $0.hostPorts == 9200...9200 })
        let elasticFindings = PublishedPortRules.findings(for: elastic, judgement: admin.judge(elastic), namespaces: [])
        #expect(elasticFindings.contains { $0.rule == .publishedDatastore }, "\(elasticFindings.map(\.title))")
        #expect(elasticFindings.first { $0.rule == .publishedDatastore }?.remediation.contains("ip daddr 127.0.0.1") == true)
        // On loopback, on one address, or filtered: no finding.
        let (redis, redisJudged) = try Self.judged("docker-classic", 6379)
        #expect(
            !PublishedPortRules.findings(for: redis, judgement: redisJudged, namespaces: []).contains { $0.rule == .publishedDatastore })
        let netavark = try PublishedFixture.model("netavark-nftables")
        let postgres = try #require(netavark.publishedPorts().ports.first { $0.hostPorts == 5432...5432 })
        #expect(PublishedPortRules.findings(for: postgres, judgement: netavark.judge(postgres), namespaces: []).isEmpty)
        // Docker's API published on every address (a hand-made target port map).
        var api = mongo
        api.hostPorts = 2375...2375
        api.target = PublishedTarget(address: IPAddress(v4: 172, 17, 0, 9), ports: 2375...2375)
        let apiFindings = PublishedPortRules.findings(for: api, judgement: nil, namespaces: [])
        #expect(apiFindings.contains { $0.rule == .publishedAdminAPI && $0.severity == .critical }, "\(apiFindings.map(\.title))")
    }
}
