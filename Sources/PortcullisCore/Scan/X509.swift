/// The parts of an X.509 certificate that service detection reports: who it
/// names, who signed it, when it is valid. No signature checking: the point
/// is to describe what a port presents, not to trust it.
public struct X509Certificate: Sendable, Hashable {
    /// RFC 4514 text, most specific RDN first ("CN=example.com,O=Example,C=US"),
    /// with control characters escaped (UntrustedText).
    public var subject: String
    /// RFC 4514 text of the issuer's name, in the same form as `subject`.
    public var issuer: String
    /// Seconds since the epoch, UTC.
    public var notBefore: Int64
    /// End of the validity period, in seconds since the epoch (UTC).
    public var notAfter: Int64
    /// The serial number's contents octets in lower-case hex, as encoded (a leading 00 kept).
    public var serialNumber: String
    /// DNS names and IP addresses from subjectAltName, escaped.
    public var subjectAltNames: [String]
    /// The subjectKeyIdentifier extension's key identifier; nil when absent.
    public var subjectKeyIdentifier: [UInt8]?
    /// The authorityKeyIdentifier extension's keyIdentifier; nil when absent or not given by key id.
    public var authorityKeyIdentifier: [UInt8]?
    /// The raw Name encodings, compared byte for byte for `isSelfIssued`.
    public var subjectDER: [UInt8]
    /// The issuer Name's raw encoding, compared with `subjectDER`.
    public var issuerDER: [UInt8]

    /// Issued by itself: issuer and subject names are equal and, when both
    /// key identifiers are present, they are equal too (a CA can issue a
    /// certificate whose subject repeats its own name with another key).
    public var isSelfSigned: Bool {
        guard subjectDER == issuerDER || subject == issuer else { return false }
        if let ski = subjectKeyIdentifier, let aki = authorityKeyIdentifier { return ski == aki }
        return true
    }

    /// Past its notAfter at `now`, seconds since the epoch.
    public func isExpired(now: Int64) -> Bool { now > notAfter }

    /// Parses one DER certificate.
    public init(der: [UInt8]) throws(DERError) {
        var outer = DERReader(der)
        let certificate = try outer.read(DER.sequence, "certificate")
        try outer.expectEnd("certificate")
        var certificateFields = certificate.children(field: "certificate")
        let tbs = try certificateFields.read(DER.sequence, "tbsCertificate")
        var fields = tbs.children(field: "tbsCertificate")

        _ = try fields.readOptional(DER.context(0, constructed: true), "version")
        let serial = try fields.read(DER.integer, "serialNumber")
        serialNumber = DER.hex(serial.contents)
        _ = try fields.read(DER.sequence, "signature")
        let issuerName = try fields.read(DER.sequence, "issuer")
        issuer = try X509Certificate.distinguishedName(issuerName, field: "tbsCertificate.issuer")
        issuerDER = Array(issuerName.encoded)

        let validity = try fields.read(DER.sequence, "validity")
        var times = validity.children(field: "tbsCertificate.validity")
        notBefore = try X509Certificate.time(try times.readAny("notBefore"), field: "tbsCertificate.validity.notBefore")
        notAfter = try X509Certificate.time(try times.readAny("notAfter"), field: "tbsCertificate.validity.notAfter")

        let subjectName = try fields.read(DER.sequence, "subject")
        subject = try X509Certificate.distinguishedName(subjectName, field: "tbsCertificate.subject")
        subjectDER = Array(subjectName.encoded)
        _ = try fields.read(DER.sequence, "subjectPublicKeyInfo")
        _ = try fields.readOptional(DER.context(1, constructed: false), "issuerUniqueID")
        _ = try fields.readOptional(DER.context(2, constructed: false), "subjectUniqueID")

        subjectAltNames = []
        subjectKeyIdentifier = nil
        authorityKeyIdentifier = nil
        if let wrapper = try fields.readOptional(DER.context(3, constructed: true), "extensions") {
            var inner = wrapper.children(field: "tbsCertificate.extensions")
            let list = try inner.read(DER.sequence, "list")
            var extensions = list.children(field: "tbsCertificate.extensions")
            var index = 0
            while !extensions.isAtEnd {
                let name = "extension[\(index)]"
                let path = "tbsCertificate.extensions.\(name)"
                var ext = try extensions.read(DER.sequence, name).children(field: path)
                let oid = try ext.read(DER.objectIdentifier, "extnID").objectIdentifier(field: path + ".extnID")
                _ = try ext.readOptional(DER.boolean, "critical")
                let value = try ext.read(DER.octetString, "extnValue").contents
                switch oid {
                case "2.5.29.14":  // subjectKeyIdentifier ::= OCTET STRING
                    var reader = DERReader(value, field: path + ".subjectKeyIdentifier")
                    subjectKeyIdentifier = Array(try reader.read(DER.octetString, "keyIdentifier").contents)
                case "2.5.29.35":  // authorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier OPTIONAL, ... }
                    var reader = DERReader(value, field: path + ".authorityKeyIdentifier")
                    var aki = try reader.read(DER.sequence, "sequence").children(field: path + ".authorityKeyIdentifier")
                    if let key = try aki.readOptional(DER.context(0, constructed: false), "keyIdentifier") {
                        authorityKeyIdentifier = Array(key.contents)
                    }
                case "2.5.29.17":  // subjectAltName ::= GeneralNames
                    var reader = DERReader(value, field: path + ".subjectAltName")
                    var names = try reader.read(DER.sequence, "names").children(field: path + ".subjectAltName")
                    while !names.isAtEnd {
                        let name = try names.readAny("name")
                        switch name.tag {
                        case DER.context(2, constructed: false):  // dNSName
                            subjectAltNames.append("DNS:" + UntrustedText.escape(name.contents))
                        case DER.context(7, constructed: false):  // iPAddress
                            if let address = IPAddress(bytes: Array(name.contents)) {
                                subjectAltNames.append("IP:\(address)")
                            }
                        default:
                            break
                        }
                    }
                default:
                    break
                }
                index += 1
            }
        }
        _ = try certificateFields.read(DER.sequence, "signatureAlgorithm")
        _ = try certificateFields.read(DER.bitString, "signatureValue")
    }

    // MARK: Names

    /// Short names RFC 4514 and OpenSSL use; others print as dotted OIDs.
    static let attributeNames: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
        "2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
        "2.5.4.42": "GN", "2.5.4.97": "organizationIdentifier",
        "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
        "1.2.840.113549.1.9.1": "emailAddress",
    ]

    /// RFC 4514 text of a Name: RDNs in reverse order, comma-separated;
    /// multi-valued RDNs joined with "+".
    static func distinguishedName(_ name: DERElement, field: String) throws(DERError) -> String {
        var rdns: [String] = []
        var reader = name.children(field: field)
        var index = 0
        while !reader.isAtEnd {
            let rdnPath = "\(field).rdn[\(index)]"
            var set = try reader.read(DER.set, "rdn[\(index)]").children(field: rdnPath)
            var parts: [String] = []
            while !set.isAtEnd {
                var pair = try set.read(DER.sequence, "attribute").children(field: rdnPath + ".attribute")
                let oid = try pair.read(DER.objectIdentifier, "type").objectIdentifier(field: rdnPath + ".attribute.type")
                let value = try pair.readAny("value")
                let key = attributeNames[oid] ?? oid
                if let text = value.stringValue() {
                    parts.append(key + "=" + escapeAttributeValue(text))
                } else {
                    // RFC 4514 2.4: a value of another type prints as # and its hex encoding.
                    parts.append(key + "=#" + DER.hex(value.encoded))
                }
            }
            rdns.append(parts.joined(separator: "+"))
            index += 1
        }
        return rdns.reversed().joined(separator: ",")
    }

    /// RFC 4514 escaping on top of UntrustedText: control characters become
    /// visible escapes first (so a certificate cannot draw on the terminal),
    /// then the characters that are special in a DN get a backslash.
    static func escapeAttributeValue(_ bytes: [UInt8]) -> String {
        let safe = Array(UntrustedText.escape(bytes))
        var out = ""
        for (i, character) in safe.enumerated() {
            switch character {
            case ",", "+", "\"", "<", ">", ";", "=":
                out += "\\" + String(character)
            case "#" where i == 0:
                out += "\\#"
            case " " where i == 0 || i == safe.count - 1:
                out += "\\ "
            default:
                out.append(character)
            }
        }
        return out
    }

    // MARK: Time

    /// UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime
    /// (YYYYMMDDHHMMSS[.fff]Z) as seconds since the epoch.
    static func time(_ element: DERElement, field: String) throws(DERError) -> Int64 {
        let text = Array(element.contents)
        func digits(_ range: Range<Int>) throws(DERError) -> Int {
            guard range.upperBound <= text.count else { throw DERError(field: field, problem: .badValue("time too short")) }
            var value = 0
            for i in range {
                let b = text[i]
                guard b >= 0x30, b <= 0x39 else { throw DERError(field: field, problem: .badValue("non-digit in time")) }
                value = value * 10 + Int(b - 0x30)
            }
            return value
        }
        let year: Int
        let rest: Int
        switch element.tag {
        case DER.utcTime:
            let yy = try digits(0..<2)
            year = yy >= 50 ? 1900 + yy : 2000 + yy
            rest = 2
        case DER.generalizedTime:
            year = try digits(0..<4)
            rest = 4
        default:
            throw DERError(field: field, problem: .unexpectedTag(expected: DER.utcTime, found: element.tag))
        }
        let month = try digits(rest..<(rest + 2))
        let day = try digits((rest + 2)..<(rest + 4))
        let hour = try digits((rest + 4)..<(rest + 6))
        let minute = try digits((rest + 6)..<(rest + 8))
        let second = try digits((rest + 8)..<(rest + 10))
        var end = rest + 10
        // Fractional seconds (GeneralizedTime only) are dropped.
        if element.tag == DER.generalizedTime, end < text.count, text[end] == 0x2e {
            end += 1
            while end < text.count, text[end] >= 0x30, text[end] <= 0x39 { end += 1 }
        }
        guard end == text.count - 1, text[end] == 0x5a else {  // "Z"
            throw DERError(field: field, problem: .badValue("time is not UTC (no trailing Z)"))
        }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            throw DERError(field: field, problem: .badValue("time out of range"))
        }
        return Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400
            + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
