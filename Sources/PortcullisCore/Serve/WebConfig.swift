/// `serve --web.config.file`: TLS and basic authentication in the format
/// of the Prometheus exporter-toolkit, so one file serves node_exporter
/// and portcullis alike. Keys portcullis does not implement are refused by
/// name rather than ignored: a security setting silently dropped is worse
/// than an error.
public struct WebConfig: Sendable, Equatable {
    /// `tls_server_config`.
    public struct TLS: Sendable, Equatable {
        /// Whether and how clients present certificates (`client_auth_type`).
        public enum ClientAuth: String, Sendable, CaseIterable {
            /// No client certificate is asked for (the default).
            case none = "NoClientCert"
            /// A client certificate is verified against `client_ca_file` when one is sent.
            case verifyIfGiven = "VerifyClientCertIfGiven"
            /// Every client must present a certificate that `client_ca_file` verifies.
            case requireAndVerify = "RequireAndVerifyClientCert"
        }

        /// The lowest protocol version accepted (`min_version`).
        public enum Version: String, Sendable, CaseIterable, Comparable {
            case tls12 = "TLS12"
            case tls13 = "TLS13"

            /// TLS 1.2 sorts before 1.3.
            public static func < (a: Version, b: Version) -> Bool { a == .tls12 && b == .tls13 }
        }

        /// PEM certificate chain: a path resolved against the config file's directory.
        public var certificateFile: String
        /// PEM private key: a path resolved as `certificateFile`.
        public var keyFile: String
        /// How client certificates are treated.
        public var clientAuth: ClientAuth = .none
        /// CA bundle that verifies client certificates (needed when `clientAuth` is not `.none`).
        public var clientCAFile: String?
        /// TLS 1.2 unless the file says TLS13 (exporter-toolkit's default too).
        public var minimumVersion: Version = .tls12
        /// No upper bound unless given.
        public var maximumVersion: Version?
    }

    /// TLS, when the file has `tls_server_config`.
    public var tls: TLS?
    /// User name to bcrypt hash (`basic_auth_users`); empty: no authentication.
    public var basicAuthUsers: [String: String] = [:]
    /// Extra response headers (`http_server_config.headers`), e.g. Strict-Transport-Security.
    public var headers: [(String, String)] = []

    /// An empty configuration: plain HTTP, no authentication.
    public init() {}

    /// Whether clients must prove who they are: a password, or a certificate the server verifies.
    public var authenticatesClients: Bool { !basicAuthUsers.isEmpty || tls?.clientAuth == .requireAndVerify }

    /// Headers compared in order.
    public static func == (a: WebConfig, b: WebConfig) -> Bool {
        a.tls == b.tls && a.basicAuthUsers == b.basicAuthUsers && a.headers.count == b.headers.count
            && zip(a.headers, b.headers).allSatisfy { $0 == $1 }
    }
}

/// A web configuration file that cannot be used: where and why.
public struct WebConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as given on the command line.
    public var file: String
    /// 1-based line, 0 when the problem is the whole file.
    public var line: Int
    /// 1-based column.
    public var column: Int
    /// What is wrong and what is accepted.
    public var message: String

    /// `FILE:LINE:COLUMN: message`, or `FILE: message` for the whole file.
    public var description: String {
        line > 0 ? "\(UntrustedText.escape(file)):\(line):\(column): \(message)" : "\(UntrustedText.escape(file)): \(message)"
    }

    /// An error at a place in the file.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    init(_ error: PolicyError) { self.init(file: error.file, line: error.line, column: error.column, message: error.message) }
}

extension WebConfig {
    static let topKeys = ["tls_server_config", "basic_auth_users", "http_server_config"]
    static let tlsKeys = ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"]
    /// exporter-toolkit keys that portcullis does not implement: named in the error so nobody believes they apply.
    static let unsupported: [String: String] = [
        "cert": "give the certificate as a file with cert_file",
        "key": "give the key as a file with key_file",
        "client_ca": "give the client CA as a file with client_ca_file",
        "cipher_suites": "the TLS library's defaults apply (no weak suites)",
        "curve_preferences": "the TLS library's defaults apply",
        "prefer_server_cipher_suites": "the TLS library's defaults apply",
        "client_allowed_sans": "any certificate client_ca_file verifies is accepted",
        "rate_limit": "put a reverse proxy in front for rate limits",
        "http2": "portcullis serves HTTP/1.1",
    ]

    /// Reads a web configuration. Relative paths in it are resolved against
    /// the directory of `file`, as exporter-toolkit does.
    public static func parse(_ yaml: String, file: String) throws(WebConfigError) -> WebConfig {
        do throws(PolicyError) {
            return try read(yaml, file: file)
        } catch {
            throw WebConfigError(error)
        }
    }

    static func read(_ yaml: String, file: String) throws(PolicyError) -> WebConfig {
        let root = try PolicyParser.compose(yaml, file: file, what: "a web configuration")
        var config = WebConfig()
        guard let root, !PolicyParser.isNull(root) else { return config }
        let reader = PolicyParser(file: file)
        let directory = file.contains("/") ? String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)]) : "."
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }

        for (key, value) in try reader.mapping(root, what: "a web configuration (a mapping with \(topKeys.joined(separator: ", ")))") {
            switch try reader.keyName(key, accepted: topKeys + unsupported.keys.sorted(), in: "at the top level") {
            case "tls_server_config":
                config.tls = try readTLS(value, reader: reader, resolve: resolve)
            case "basic_auth_users":
                for (userNode, hashNode) in try reader.mapping(value, what: "a mapping of user names to bcrypt hashes") {
                    let user = try reader.text(userNode, what: "a user name")
                    guard !user.contains(":") else {
                        throw reader.fail(userNode, "a basic-auth user name cannot contain ':' (RFC 7617)")
                    }
                    let hash = try reader.text(hashNode, what: "a bcrypt hash such as $2y$10$…")
                    guard BcryptHash.isWellFormed(hash) else {
                        throw reader.fail(
                            hashNode,
                            "the password of \(PolicyParser.quote(user)) is not a bcrypt hash ($2a$, $2b$ or $2y$, a cost of 04-31, 53 more characters); make one with `htpasswd -nBC 10 \(user)`"
                        )
                    }
                    config.basicAuthUsers[user] = hash
                }
            case "http_server_config":
                for (subKey, subValue) in try reader.mapping(value, what: "a mapping with headers") {
                    switch try reader.keyName(subKey, accepted: ["headers", "http2"], in: "in http_server_config") {
                    case "headers":
                        for (nameNode, headerValue) in try reader.mapping(subValue, what: "a mapping of header names to values") {
                            let name = try reader.text(nameNode, what: "a header name")
                            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                                throw reader.fail(nameNode, "\(PolicyParser.quote(name)) is not a valid HTTP header name")
                            }
                            let text = try reader.text(headerValue, what: "a header value")
                            guard !text.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) else {
                                throw reader.fail(headerValue, "a header value cannot contain line breaks")
                            }
                            config.headers.append((name, text))
                        }
                    default:
                        throw reader.fail(subKey, "http2 is not supported: \(unsupported["http2"] ?? "")")
                    }
                }
            default:
                let name = key.scalar?.string ?? ""
                throw reader.fail(key, "\(name) is not supported by portcullis: \(unsupported[name] ?? "")")
            }
        }
        return config
    }

    static func readTLS(_ node: YAMLNode, reader: PolicyParser, resolve: (String) -> String) throws(PolicyError) -> TLS {
        var certificate: String?
        var tls = TLS(certificateFile: "", keyFile: "")
        for (key, value) in try reader.mapping(node, what: "a mapping with cert_file and key_file", nullIsEmpty: false) {
            let name = try reader.keyName(key, accepted: tlsKeys + unsupported.keys.sorted(), in: "in tls_server_config")
            switch name {
            case "cert_file": certificate = resolve(try reader.text(value, what: "a PEM certificate file"))
            case "key_file": tls.keyFile = resolve(try reader.text(value, what: "a PEM private key file"))
            case "client_ca_file": tls.clientCAFile = resolve(try reader.text(value, what: "a PEM CA bundle file"))
            case "client_auth_type":
                let text = try reader.text(value, what: "a client auth type")
                guard let auth = TLS.ClientAuth(rawValue: text) else {
                    throw reader.fail(
                        value,
                        "unknown or unsupported client_auth_type \(PolicyParser.quote(text)); use \(TLS.ClientAuth.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                tls.clientAuth = auth
            case "min_version", "max_version":
                let text = try reader.text(value, what: "a TLS version")
                guard let version = TLS.Version(rawValue: text) else {
                    throw reader.fail(
                        value, "unsupported \(name) \(PolicyParser.quote(text)); use TLS12 or TLS13 (older versions are not offered)")
                }
                if name == "min_version" { tls.minimumVersion = version } else { tls.maximumVersion = version }
            default:
                throw reader.fail(key, "\(name) is not supported by portcullis: \(unsupported[name] ?? "")")
            }
        }
        guard let certificate, !tls.keyFile.isEmpty else {
            throw reader.fail(node, "tls_server_config needs both cert_file and key_file")
        }
        tls.certificateFile = certificate
        if tls.clientAuth != .none && tls.clientCAFile == nil {
            throw reader.fail(
                node, "client_auth_type \(tls.clientAuth.rawValue) needs client_ca_file, the CA that signs client certificates")
        }
        if let maximum = tls.maximumVersion, maximum < tls.minimumVersion {
            throw reader.fail(node, "max_version \(maximum.rawValue) is below min_version \(tls.minimumVersion.rawValue)")
        }
        return tls
    }

    /// RFC 9110 token characters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: return true
        default: return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// The shape of a bcrypt hash as htpasswd and Python's bcrypt write it.
public enum BcryptHash {
    /// `$2a$`, `$2b$` or `$2y$`, a two-digit cost from 04 to 31, `$`, then 53 characters of bcrypt's base64.
    public static func isWellFormed(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == 0x24, bytes[1] == 0x32, [0x61, 0x62, 0x79].contains(bytes[2]), bytes[3] == 0x24,
            bytes[6] == 0x24
        else { return false }
        guard let cost = Int(String(decoding: bytes[4...5], as: UTF8.self)), (4...31).contains(cost) else { return false }
        return bytes[7...].allSatisfy { b in
            (0x30...0x39).contains(b) || (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) || b == 0x2e || b == 0x2f
        }
    }
}
