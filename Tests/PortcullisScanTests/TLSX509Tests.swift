import Foundation
import Testing

@testable import PortcullisCore

/// The certificates in Fixtures/certs were made by Fixtures/make-certs.sh;
/// the `.openssl.txt` beside each is `openssl x509 -noout -dates -subject
/// -issuer -nameopt RFC2253` of it, the oracle for subject, issuer and dates.
@Suite struct X509Tests {
    struct OpenSSLView {
        var subject: String
        var issuer: String
        var notBefore: Int64
        var notAfter: Int64
    }

    static func openssl(_ name: String) throws -> OpenSSLView {
        var values: [String: String] = [:]
        for line in try ServiceFixtures.text("certs/\(name).openssl.txt").split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return OpenSSLView(
            subject: try #require(values["subject"]), issuer: try #require(values["issuer"]),
            notBefore: try #require(ServiceFixtures.opensslDate(values["notBefore"] ?? "")),
            notAfter: try #require(ServiceFixtures.opensslDate(values["notAfter"] ?? "")))
    }

    @Test(arguments: ["selfsigned", "expired", "ca", "leaf"])
    func matchesOpenSSL(_ name: String) throws {
        let certificate = try X509Certificate(der: try ServiceFixtures.pem("certs/\(name).pem"))
        let oracle = try Self.openssl(name)
        #expect(certificate.subject == oracle.subject)
        #expect(certificate.issuer == oracle.issuer)
        #expect(certificate.notBefore == oracle.notBefore)
        #expect(certificate.notAfter == oracle.notAfter)
    }

    @Test func selfSignedAndExpired() throws {
        let now: Int64 = 1_798_761_600  // 2027-01-01
        let selfSigned = try X509Certificate(der: try ServiceFixtures.pem("certs/selfsigned.pem"))
        #expect(selfSigned.isSelfSigned)
        #expect(selfSigned.subjectAltNames == ["DNS:localhost", "IP:127.0.0.1"])
        let expired = try X509Certificate(der: try ServiceFixtures.pem("certs/expired.pem"))
        #expect(expired.isSelfSigned && expired.isExpired(now: now))
        #expect(expired.notBefore == 1_577_836_800 && expired.notAfter == 1_609_459_200)  // UTCTime 2020, 2021
        #expect(expired.subjectKeyIdentifier != nil && expired.authorityKeyIdentifier == nil)
        #expect(selfSigned.subjectKeyIdentifier != nil && selfSigned.subjectKeyIdentifier == selfSigned.authorityKeyIdentifier)
        let leaf = try X509Certificate(der: try ServiceFixtures.pem("certs/leaf.pem"))
        #expect(!leaf.isSelfSigned && !leaf.isExpired(now: now))
        #expect(leaf.notAfter == 2_556_144_000)  // GeneralizedTime 2051-01-01
        #expect(leaf.subject == "CN=leaf.test,O=Portcullis Test\\, Inc.,C=US")
        #expect(leaf.subjectAltNames == ["DNS:leaf.test"])
        #expect(leaf.isExpired(now: 2_556_144_001) && !leaf.isExpired(now: 2_556_144_000))
    }

    /// Same names but different key identifiers: a CA re-using its name for another key is not self-signed.
    @Test func keyIdentifiersDecideWhenNamesMatch() throws {
        var certificate = try X509Certificate(der: try ServiceFixtures.pem("certs/selfsigned.pem"))
        certificate.authorityKeyIdentifier = [1, 2, 3]
        #expect(!certificate.isSelfSigned)
    }

    @Test func timesOfBothKinds() throws {
        func element(_ tag: UInt8, _ text: String) -> DERElement {
            let bytes = [tag, UInt8(text.utf8.count)] + Array(text.utf8)
            return DERElement(tag: tag, contents: bytes[2...], encoded: bytes[...])
        }
        #expect(try X509Certificate.time(element(DER.utcTime, "700101000000Z"), field: "t") == 0)
        #expect(try X509Certificate.time(element(DER.utcTime, "491231235959Z"), field: "t") == 2_524_607_999)
        #expect(try X509Certificate.time(element(DER.utcTime, "500101000000Z"), field: "t") == -631_152_000)
        #expect(try X509Certificate.time(element(DER.generalizedTime, "20380119031408Z"), field: "t") == 2_147_483_648)
        #expect(try X509Certificate.time(element(DER.generalizedTime, "20000229120000.123Z"), field: "t") == 951_825_600)
        #expect(throws: DERError.self) { try X509Certificate.time(element(DER.utcTime, "7001010000Z"), field: "t") }
        #expect(throws: DERError.self) { try X509Certificate.time(element(DER.utcTime, "700101000000+0100"), field: "t") }
        #expect(throws: DERError.self) { try X509Certificate.time(element(DER.generalizedTime, "20001301000000Z"), field: "t") }
    }

    @Test func errorsNameTheField() throws {
        let der = try ServiceFixtures.pem("certs/leaf.pem")
        // Cut inside the validity: the error names the field being read.
        var reader = DERReader(der)
        let outer = try reader.read(DER.sequence, "certificate")
        var fields = outer.children(field: "certificate")
        var tbs = try fields.read(DER.sequence, "tbsCertificate").children(field: "tbs")
        _ = try tbs.readAny("version")
        _ = try tbs.readAny("serial")
        _ = try tbs.readAny("signature")
        _ = try tbs.readAny("issuer")
        let validity = try tbs.readAny("validity")
        let cut = validity.contents.startIndex + 4
        do {
            _ = try X509Certificate(der: Array(der[..<cut]))
            Issue.record("a truncated certificate parsed")
        } catch {
            #expect(error.problem == .truncated)
            #expect(error.field == "certificate")
        }
        // The same cut, with the outer lengths patched to fit, fails inside validity.
        var patched = Array(der[..<cut])
        patched[2] = 0
        patched[3] = 0
        #expect(throws: DERError.self) { try X509Certificate(der: patched) }
        // Garbage instead of a time.
        var broken = der
        broken[validity.contents.startIndex + 2] = UInt8(ascii: "x")
        do {
            _ = try X509Certificate(der: broken)
            Issue.record("a bad time parsed")
        } catch {
            #expect(error.field == "tbsCertificate.validity.notBefore")
        }
        #expect(throws: DERError.self) { try X509Certificate(der: []) }
        #expect(throws: DERError.self) { try X509Certificate(der: [0x30, 0x80, 0, 0]) }  // indefinite length
        #expect(throws: DERError.self) { try X509Certificate(der: [0x30, 0x81, 0x05, 0, 0, 0, 0, 0]) }  // non-minimal
    }

    /// Every truncation and many random byte flips of real certificates:
    /// an error or a value, never a trap.
    @Test(arguments: ["selfsigned", "expired", "ca", "leaf"])
    func truncationsAndFlipsNeverTrap(_ name: String) throws {
        let der = try ServiceFixtures.pem("certs/\(name).pem")
        for length in 0..<der.count {
            #expect(throws: DERError.self) { try X509Certificate(der: Array(der[..<length])) }
        }
        var generator = SplitMix(seed: UInt64(der.count))
        for _ in 0..<3000 {
            var mutated = der
            for _ in 0..<Int(generator.next() % 4 + 1) {
                let index = Int(generator.next() % UInt64(mutated.count))
                mutated[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? X509Certificate(der: mutated)
        }
    }
}

/// A small deterministic generator, so a failing fuzz case repeats.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite struct TLSHandshakeTests {
    /// Walks a ClientHello and returns its cipher suites and extension types.
    static func dissect(_ record: [UInt8]) throws -> (version: UInt16, suites: [UInt16], extensions: [UInt16: [UInt8]]) {
        try #require(record.count > 9 && record[0] == 22 && record[5] == 1)
        let length = Int(record[3]) << 8 | Int(record[4])
        try #require(record.count == 5 + length)
        let body = Array(record[9...])
        let version = UInt16(body[0]) << 8 | UInt16(body[1])
        var i = 34
        i += 1 + Int(body[i])
        let suiteBytes = Int(body[i]) << 8 | Int(body[i + 1])
        let suites = stride(from: i + 2, to: i + 2 + suiteBytes, by: 2).map { UInt16(body[$0]) << 8 | UInt16(body[$0 + 1]) }
        i += 2 + suiteBytes
        i += 1 + Int(body[i])
        let extensionBytes = Int(body[i]) << 8 | Int(body[i + 1])
        i += 2
        try #require(i + extensionBytes == body.count)
        var extensions: [UInt16: [UInt8]] = [:]
        while i < body.count {
            let type = UInt16(body[i]) << 8 | UInt16(body[i + 1])
            let size = Int(body[i + 2]) << 8 | Int(body[i + 3])
            extensions[type] = Array(body[(i + 4)..<(i + 4 + size)])
            i += 4 + size
        }
        return (version, suites, extensions)
    }

    @Test func clientHelloOffersTLS12AndLowerWithSNI() throws {
        let hello = try Self.dissect(TLSClientHello.build(serverName: "example.com"))
        #expect(hello.version == 0x0303)
        #expect(hello.extensions[0x002b] == nil, "no supported_versions: a 1.3 server must answer 1.2")
        #expect(hello.suites.contains(0xc02f) && hello.suites.contains(0xcca8) && hello.suites.contains(0x002f))
        #expect(!hello.suites.contains { $0 >> 8 == 0x13 })
        let sni = try #require(hello.extensions[0])
        #expect(Array(sni.suffix(11)) == Array("example.com".utf8))
        #expect(hello.extensions[0x000a] != nil && hello.extensions[0x000b] != nil && hello.extensions[0x000d] != nil)
        // No SNI for an address or an empty name.
        #expect(try Self.dissect(TLSClientHello.build(serverName: "127.0.0.1")).extensions[0] == nil)
        #expect(try Self.dissect(TLSClientHello.build(serverName: "::1")).extensions[0] == nil)
        #expect(try Self.dissect(TLSClientHello.build(serverName: nil)).extensions[0] == nil)
    }

    @Test func tls13OnlyHello() throws {
        let hello = try Self.dissect(TLSClientHello.build(serverName: nil, tls13Only: true))
        #expect(hello.suites == [0x1301, 0x1302, 0x1303])
        #expect(hello.extensions[0x002b] == [2, 3, 4])
        #expect(hello.extensions[0x0033]?.count == 2 + 4 + 32)
    }

    /// The ClientHellos sent are the ones in Fixtures/requests, which
    /// Fixtures/capture.py sends to real servers (`--send-hex`) when the
    /// replies in Fixtures/tls are re-recorded.
    @Test func clientHellosAreTheRecordedRequests() throws {
        try ServiceFixtures.assertRequest(TLSClientHello.build(serverName: "localhost"), named: "clienthello-tls12.hex")
        try ServiceFixtures.assertRequest(TLSClientHello.build(serverName: "localhost", tls13Only: true), named: "clienthello-tls13.hex")
    }
}
