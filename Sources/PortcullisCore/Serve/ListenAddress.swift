/// `serve --web.listen-address`: `HOST:PORT` as Prometheus exporters spell
/// it: `127.0.0.1:9638`, `[::1]:9638`, `localhost:9638`, or `:9638` for
/// every IPv4 address.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// portcullis's port, in the 9100-9999 range Prometheus exporters use, and outside Linux's ephemeral range.
    public static let defaultPort: UInt16 = 9638
    /// Loopback only, unless the administrator asks for more.
    public static let `default` = ListenAddress(host: IPAddress(v4: 127, 0, 0, 1), port: defaultPort)

    /// The address bound.
    public var host: IPAddress
    /// The TCP port; 0 lets the kernel choose (tests).
    public var port: UInt16

    /// An address and port.
    public init(host: IPAddress, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; the error says what was wrong and what is accepted.
    public init(parsing text: String) throws(FilterError) {
        let accepted =
            "give HOST:PORT, e.g. 127.0.0.1:\(Self.defaultPort), [::1]:\(Self.defaultPort) or :\(Self.defaultPort) (every IPv4 address)"
        guard let colon = text.lastIndex(of: ":") else {
            throw FilterError(option: "--web.listen-address", value: UntrustedText.escape(text), reason: "no port; \(accepted)")
        }
        var hostText = String(text[..<colon])
        let portText = String(text[text.index(after: colon)...])
        guard let port = UInt16(portText) else {
            throw FilterError(
                option: "--web.listen-address", value: UntrustedText.escape(text),
                reason: "the port must be a number from 0 to 65535; \(accepted)")
        }
        if hostText.hasPrefix("[") && hostText.hasSuffix("]") {
            hostText = String(hostText.dropFirst().dropLast())
        } else if hostText.contains(":") {
            throw FilterError(
                option: "--web.listen-address", value: UntrustedText.escape(text), reason: "put an IPv6 address in brackets; \(accepted)")
        }
        let host: IPAddress?
        switch hostText {
        case "": host = .anyV4
        case "localhost": host = IPAddress(v4: 127, 0, 0, 1)
        default: host = IPAddress(parsing: hostText)
        }
        guard let host else {
            throw FilterError(
                option: "--web.listen-address", value: UntrustedText.escape(text),
                reason:
                    "'\(UntrustedText.escape(hostText))' is not an IP address (host names other than localhost are not resolved); \(accepted)"
            )
        }
        self.init(host: host, port: port)
    }

    /// Whether only this machine can connect: a loopback address.
    public var isLoopbackOnly: Bool { host.isLoopback }

    /// `127.0.0.1:9638`, `[::1]:9638`.
    public var description: String { host.kind == .v6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Why listening here is refused without `--web.insecure`, or nil when it is allowed:
    /// beyond loopback the listener inventory and audit must be encrypted and asked for a password or certificate.
    public func refusal(for config: WebConfig) -> String? {
        guard !isLoopbackOnly else { return nil }
        var missing: [String] = []
        if config.tls == nil { missing.append("TLS (tls_server_config)") }
        if !config.authenticatesClients {
            missing.append("authentication (basic_auth_users, or client_auth_type RequireAndVerifyClientCert)")
        }
        guard !missing.isEmpty else { return nil }
        return
            "\(self) is reachable beyond loopback, and the web configuration has no \(missing.joined(separator: " and no ")): anyone who can reach it would read this host's listeners and findings. Give --web.config.file with both, or --web.insecure to accept the risk"
    }
}
