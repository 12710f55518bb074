/// Just enough TLS to see what a server presents, without a TLS library:
/// a ClientHello, and a reader for the server's first flight (ServerHello,
/// Certificate, alerts). Nothing is decrypted or verified.
///
/// The usual ClientHello offers TLS 1.2 and lower only (no
/// supported_versions extension), so a server that can speak 1.2 answers in
/// 1.2 and sends its Certificate in the clear. A server that refuses gets a
/// second ClientHello offering only TLS 1.3, to tell "1.3 only" apart from
/// "no common cipher".
public enum TLSClientHello {
    /// Cipher suites offered in the TLS 1.2 hello, strongest first.
    public static let tls12CipherSuites: [UInt16] = [
        0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,  // ECDHE AES-GCM, CHACHA20
        0x009e, 0x009f,  // DHE-RSA AES-GCM
        0xc023, 0xc027, 0xc024, 0xc028,  // ECDHE CBC SHA-2
        0xc009, 0xc013, 0xc00a, 0xc014,  // ECDHE CBC SHA-1
        0x0033, 0x0039,  // DHE-RSA CBC SHA-1
        0x009c, 0x009d, 0x003c, 0x003d, 0x002f, 0x0035,  // plain RSA
        0x000a,  // 3DES, for very old servers
        0x00ff,  // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    ]

    /// Cipher suites offered in the TLS 1.3-only hello: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256.
    public static let tls13CipherSuites: [UInt16] = [0x1301, 0x1302, 0x1303]

    /// A fixed client random; callers that want a fresh one pass their own.
    public static let defaultRandom: [UInt8] = Array("portcullis service detection....".utf8)

    /// The record bytes of a ClientHello.
    /// - Parameters:
    ///   - serverName: sent as SNI when it is a host name (not an IP literal).
    ///   - tls13Only: offer TLS 1.3 alone (supported_versions, key_share).
    ///   - random: 32 bytes.
    public static func build(serverName: String?, tls13Only: Bool = false, random: [UInt8] = defaultRandom) -> [UInt8] {
        var extensions: [UInt8] = []
        func addExtension(_ type: UInt16, _ body: [UInt8]) {
            extensions += be16(type) + be16(UInt16(body.count)) + body
        }
        if let serverName, isSNIName(serverName) {
            let name = Array(serverName.utf8)
            let entry = [UInt8(0)] + be16(UInt16(name.count)) + name  // host_name(0)
            addExtension(0x0000, be16(UInt16(entry.count)) + entry)
        }
        // supported_groups: x25519, secp256r1, secp384r1, secp521r1, ffdhe2048.
        let groups: [UInt16] = tls13Only ? [0x001d, 0x0017, 0x0018] : [0x001d, 0x0017, 0x0018, 0x0019, 0x0100]
        addExtension(0x000a, be16(UInt16(groups.count * 2)) + groups.flatMap(be16))
        if !tls13Only { addExtension(0x000b, [1, 0]) }  // ec_point_formats: uncompressed
        let signatureAlgorithms: [UInt16] = [
            0x0403, 0x0503, 0x0603, 0x0807, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b,
            0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
        ]
        addExtension(0x000d, be16(UInt16(signatureAlgorithms.count * 2)) + signatureAlgorithms.flatMap(be16))
        if tls13Only {
            addExtension(0x002b, [2, 0x03, 0x04])  // supported_versions: TLS 1.3
            addExtension(0x002d, [1, 1])  // psk_key_exchange_modes: psk_dhe_ke
            // key_share: an x25519 share. Any 32 bytes are a valid point; the
            // handshake is abandoned after the ServerHello, so no secret is needed.
            let share = be16(0x001d) + be16(32) + Array(repeating: UInt8(0x42), count: 32)
            addExtension(0x0033, be16(UInt16(share.count)) + share)
        } else {
            addExtension(0x0017, [])  // extended_master_secret
            addExtension(0xff01, [0])  // renegotiation_info, initial
        }
        let suites = tls13Only ? tls13CipherSuites : tls12CipherSuites
        var body: [UInt8] = [0x03, 0x03]  // legacy_version TLS 1.2
        body += random.count == 32 ? random : Array((random + defaultRandom).prefix(32))
        // TLS 1.3 middlebox compatibility wants a 32-byte legacy session id.
        body += tls13Only ? [32] + Array(repeating: 0x11, count: 32) : [0]
        body += be16(UInt16(suites.count * 2)) + suites.flatMap(be16)
        body += [1, 0]  // compression: null
        body += be16(UInt16(extensions.count)) + extensions
        let handshake = [UInt8(1)] + be24(body.count) + body
        // Record version 1.0 for the hello, as browsers send, for old servers' sake.
        return [22, 0x03, 0x01] + be16(UInt16(handshake.count)) + handshake
    }

    /// SNI carries host names only: not IP literals, not empty, not a trailing dot.
    static func isSNIName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count < 256, IPAddress(parsing: name) == nil else { return false }
        return name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f } && !name.hasSuffix(".")
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be24(_ v: Int) -> [UInt8] { [UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
}

/// What the server's first flight said, as far as it has arrived.
public enum TLSServerFlight: Sendable, Hashable {
    /// More bytes are needed to know.
    case incomplete
    /// The bytes are not TLS records (a plain-text service answered).
    case notTLS
    /// The server refused with an alert before any ServerHello.
    case alert(TLSAlert)
    /// A ServerHello, and for TLS ≤ 1.2 the certificate chain when it has
    /// arrived (`complete` says no more of the flight is worth waiting for).
    case hello(TLSServerHello, certificates: [[UInt8]], complete: Bool)

    /// Parses the bytes received so far from the start of the connection.
    public static func parse(_ bytes: [UInt8]) -> TLSServerFlight {
        var handshake: [UInt8] = []
        var offset = 0
        var hello: TLSServerHello?
        var certificates: [[UInt8]] = []
        var complete = false

        // Handshake messages may span records and a record may hold several:
        // concatenate handshake record bodies and cut messages out of that.
        func scanMessages() -> Bool {
            var consumed = 0
            while handshake.count - consumed >= 4 {
                let type = handshake[consumed]
                let length = Int(handshake[consumed + 1]) << 16 | Int(handshake[consumed + 2]) << 8 | Int(handshake[consumed + 3])
                guard handshake.count - consumed - 4 >= length else { break }
                let body = Array(handshake[(consumed + 4)..<(consumed + 4 + length)])
                consumed += 4 + length
                switch type {
                case 2:  // ServerHello
                    guard let parsed = TLSServerHello(body: body) else { return false }
                    hello = parsed
                    if parsed.version == 0x0304 { complete = true }  // the rest is encrypted
                case 11:  // Certificate (TLS ≤ 1.2 layout)
                    certificates = TLSServerFlight.certificateList(body) ?? []
                    complete = true
                case 14:  // ServerHelloDone: no Certificate is coming (anonymous or PSK suites)
                    complete = true
                default:
                    break
                }
            }
            handshake.removeFirst(consumed)
            return true
        }

        while bytes.count - offset >= 5 {
            let type = bytes[offset]
            let major = bytes[offset + 1]
            let length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard (20...23).contains(type), major == 3, length <= 18_432 else {
                return hello.map { .hello($0, certificates: certificates, complete: true) } ?? .notTLS
            }
            guard bytes.count - offset - 5 >= length else { break }
            let body = bytes[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
            switch type {
            case 21:  // alert
                guard body.count >= 2 else { return .notTLS }
                let alert = TLSAlert(level: body[body.startIndex], code: body[body.startIndex + 1])
                if let hello { return .hello(hello, certificates: certificates, complete: true) }
                return .alert(alert)
            case 22:
                handshake += body
                guard scanMessages() else { return .notTLS }
                if complete, let hello { return .hello(hello, certificates: certificates, complete: true) }
            default:
                // ChangeCipherSpec or application data: whatever follows is encrypted.
                if let hello { return .hello(hello, certificates: certificates, complete: true) }
            }
        }
        // SSLv2 or plain text cannot start with a TLS record header.
        if offset == 0, let first = bytes.first, !(20...23).contains(first) { return .notTLS }
        if offset == 0, bytes.count >= 2, bytes[1] != 3 { return .notTLS }
        if let hello { return .hello(hello, certificates: certificates, complete: false) }
        return .incomplete
    }

    /// certificate_list of a TLS 1.2 Certificate message: 3-byte total, then
    /// 3-byte length + DER for each.
    static func certificateList(_ body: [UInt8]) -> [[UInt8]]? {
        guard body.count >= 3 else { return nil }
        let total = Int(body[0]) << 16 | Int(body[1]) << 8 | Int(body[2])
        guard total + 3 <= body.count else { return nil }
        var list: [[UInt8]] = []
        var i = 3
        while i + 3 <= 3 + total {
            let length = Int(body[i]) << 16 | Int(body[i + 1]) << 8 | Int(body[i + 2])
            i += 3
            guard i + length <= 3 + total else { return nil }
            list.append(Array(body[i..<(i + length)]))
            i += length
        }
        return list
    }
}

/// The fields of a ServerHello that describe the connection.
public struct TLSServerHello: Sendable, Hashable {
    /// The negotiated version: supported_versions when present, else the legacy field.
    public var version: UInt16
    /// The cipher suite the server chose (IANA code point).
    public var cipherSuite: UInt16
    /// A TLS 1.3 HelloRetryRequest (same layout, special random).
    public var isHelloRetryRequest: Bool

    static let helloRetryRandom: [UInt8] = [
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
    ]

    /// A ServerHello from its fields.
    public init(version: UInt16, cipherSuite: UInt16, isHelloRetryRequest: Bool = false) {
        self.version = version
        self.cipherSuite = cipherSuite
        self.isHelloRetryRequest = isHelloRetryRequest
    }

    init?(body: [UInt8]) {
        guard body.count >= 38 else { return nil }
        var version = UInt16(body[0]) << 8 | UInt16(body[1])
        let random = Array(body[2..<34])
        let sessionLength = Int(body[34])
        var i = 35 + sessionLength
        guard i + 3 <= body.count else { return nil }
        let cipher = UInt16(body[i]) << 8 | UInt16(body[i + 1])
        i += 3  // cipher suite, compression method
        if i + 2 <= body.count {
            let extensionsEnd = min(body.count, i + 2 + (Int(body[i]) << 8 | Int(body[i + 1])))
            i += 2
            while i + 4 <= extensionsEnd {
                let type = UInt16(body[i]) << 8 | UInt16(body[i + 1])
                let length = Int(body[i + 2]) << 8 | Int(body[i + 3])
                i += 4
                guard i + length <= extensionsEnd else { break }
                if type == 0x002b, length == 2 { version = UInt16(body[i]) << 8 | UInt16(body[i + 1]) }
                i += length
            }
        }
        self.init(version: version, cipherSuite: cipher, isHelloRetryRequest: random == TLSServerHello.helloRetryRandom)
    }

    /// The version as `TLSNames.version(_:)` spells it ("TLSv1.2").
    public var versionName: String { TLSNames.version(version) }
    /// The cipher suite's IANA name, or "0xNNNN" when unknown.
    public var cipherName: String { TLSNames.cipherSuite(cipherSuite) }
}

/// A TLS alert record.
public struct TLSAlert: Sendable, Hashable, CustomStringConvertible {
    /// The AlertLevel: 1 warning, 2 fatal.
    public var level: UInt8
    /// The AlertDescription code (40 handshake_failure, 70 protocol_version, ...).
    public var code: UInt8

    /// An alert from its level and description code.
    public init(level: UInt8, code: UInt8) {
        self.level = level
        self.code = code
    }

    /// The handshake_failure description code (40): no cipher suite or version in common, among others.
    public static let handshakeFailure: UInt8 = 40
    /// The protocol_version description code (70): the server will not speak the versions offered.
    public static let protocolVersion: UInt8 = 70

    /// The description's IANA name ("handshake_failure"), or "alert N" for a code not in the table.
    public var name: String { TLSNames.alert(code) }
    /// The name, prefixed "fatal " for a fatal alert.
    public var description: String { (level == 2 ? "fatal " : "") + name }
}

/// IANA names for the values a scan reports.
public enum TLSNames {
    /// "SSLv3", "TLSv1.0" to "TLSv1.3", or "0xNNNN" for another version code.
    public static func version(_ v: UInt16) -> String {
        switch v {
        case 0x0300: return "SSLv3"
        case 0x0301: return "TLSv1.0"
        case 0x0302: return "TLSv1.1"
        case 0x0303: return "TLSv1.2"
        case 0x0304: return "TLSv1.3"
        default: return "0x" + DER.hex([UInt8(v >> 8), UInt8(v & 0xff)])
        }
    }

    static let cipherSuites: [UInt16: String] = [
        0x000a: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x002f: "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x003c: "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003d: "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x009c: "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d: "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x009e: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009f: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x1301: "TLS_AES_128_GCM_SHA256",
        0x1302: "TLS_AES_256_GCM_SHA384",
        0x1303: "TLS_CHACHA20_POLY1305_SHA256",
        0xc009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc00a: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xc023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xc027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xc028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0xc02b: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02f: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xccaa: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ]

    /// IANA name, or "0xNNNN".
    public static func cipherSuite(_ code: UInt16) -> String {
        cipherSuites[code] ?? "0x" + DER.hex([UInt8(code >> 8), UInt8(code & 0xff)])
    }

    static let alerts: [UInt8: String] = [
        0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
        40: "handshake_failure", 42: "bad_certificate", 47: "illegal_parameter", 50: "decode_error",
        51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
        86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension",
        110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required",
        120: "no_application_protocol",
    ]

    /// The alert description's IANA name ("protocol_version"), or "alert N" when unknown.
    public static func alert(_ code: UInt8) -> String { alerts[code] ?? "alert \(code)" }
}
