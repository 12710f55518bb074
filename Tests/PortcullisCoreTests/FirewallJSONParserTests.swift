import Testing

@testable import PortcullisCore

/// A small deterministic generator (FirewallFuzzRNG), so fuzz failures reproduce.
struct FirewallFuzzRNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite struct FirewallJSONParserTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    func error(_ text: String, nonIntegers: JSONValue.NonIntegerNumbers = .reject) -> JSONParseError? {
        do {
            _ = try JSONValue.parse(Array(text.utf8), nonIntegers: nonIntegers)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesEveryKindOfValueKeepingKeyOrder() throws {
        let value = try parse(#" { "b" : [1, -2, 0, true, false, null], "a": {"x": "y"}, "": "" } "#)
        #expect(
            value
                == .object([
                    ("b", .array([.int(1), .int(-2), .int(0), .bool(true), .bool(false), .null])),
                    ("a", .object([("x", .string("y"))])),
                    ("", .string("")),
                ]))
        // Any value may be the whole document (RFC 8259, unlike RFC 4627).
        #expect(try parse("42") == .int(42))
        #expect(try parse(" \"s\"\n") == .string("s"))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([]))
    }

    @Test func decodesEscapesAndUnicode() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0c}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u20ac""#) == .string("Aé€"))
        // A surrogate pair is one scalar; raw UTF-8 passes through.
        #expect(try parse(#""\ud83d\ude00 😀""#) == .string("😀 😀"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
    }

    @Test func integersUseTheWholeInt64Range() throws {
        #expect(try parse("9223372036854775807") == .int(.max))
        #expect(try parse("-9223372036854775808") == .int(.min))
        #expect(error("9223372036854775808")?.kind == .numberOutOfRange)
        #expect(error("-9223372036854775809")?.kind == .numberOutOfRange)
        #expect(error("123456789012345678901234567890")?.kind == .numberOutOfRange)
    }

    @Test func nonIntegersAreRejectedOrKeptAsText() throws {
        // JSONValue has no floating-point case: strict by default...
        #expect(error("[1.5]") == JSONParseError(.nonIntegerNumber, at: 1))
        #expect(error("1e3")?.kind == .nonIntegerNumber)
        #expect(error("-0.0E-2")?.kind == .nonIntegerNumber)
        // ...or the literal text, for readers that must not fail on a field they ignore.
        let kept = try JSONValue.parse(Array(#"{"t": 1.5e-3, "n": 2}"#.utf8), nonIntegers: .keepAsString)
        #expect(kept == .object([("t", .string("1.5e-3")), ("n", .int(2))]))
        // Malformed numbers fail either way.
        #expect(error("1.", nonIntegers: .keepAsString)?.kind == .unexpectedEnd)
        #expect(error("1.e5", nonIntegers: .keepAsString)?.kind == .invalidNumber)
    }

    @Test(arguments: [
        ("", JSONParseError.Kind.emptyInput, 0),
        ("   ", .unexpectedEnd, 3),
        ("[1,]", .unexpectedByte(UInt8(ascii: "]")), 3),
        ("{\"a\":1,}", .unexpectedByte(UInt8(ascii: "}")), 7),
        ("01", .invalidNumber, 1),
        ("-", .unexpectedEnd, 1),
        ("-a", .invalidNumber, 1),
        ("+1", .unexpectedByte(UInt8(ascii: "+")), 0),
        ("NaN", .unexpectedByte(UInt8(ascii: "N")), 0),
        ("'a'", .unexpectedByte(UInt8(ascii: "'")), 0),
        ("[1] x", .trailingContent, 4),
        ("{1:2}", .unexpectedByte(UInt8(ascii: "1")), 1),
        ("{\"a\" 1}", .unexpectedByte(UInt8(ascii: "1")), 5),
        ("[1 2]", .unexpectedByte(UInt8(ascii: "2")), 3),
        ("tru", .unexpectedEnd, 3),
        ("nul!", .unexpectedByte(UInt8(ascii: "!")), 3),
        ("// c\n1", .unexpectedByte(UInt8(ascii: "/")), 0),
        ("\"a\nb\"", .controlCharacterInString, 2),
        ("\"\\x\"", .invalidEscape, 1),
        ("\"\\u12G4\"", .invalidEscape, 5),
        ("\"\\ud800\"", .loneSurrogate, 1),
        ("\"\\udc00\"", .loneSurrogate, 1),
        ("\"\\ud800\\u0041\"", .loneSurrogate, 1),
        ("\"abc", .unexpectedEnd, 4),
    ])
    func rejectsWhatRFC8259Rejects(text: String, kind: JSONParseError.Kind, offset: Int) {
        #expect(error(text) == JSONParseError(kind, at: offset), "for \(text.debugDescription)")
    }

    @Test func rejectsInvalidUTF8AtItsOffset() {
        func error(_ bytes: [UInt8]) -> JSONParseError? {
            do {
                _ = try JSONValue.parse(bytes)
                return nil
            } catch { return error }
        }
        let q = UInt8(ascii: "\"")
        #expect(error([q, 0x61, 0xff, q]) == JSONParseError(.invalidUTF8, at: 2))
        #expect(error([q, 0xc0, 0x80, q])?.kind == .invalidUTF8)  // overlong NUL
        #expect(error([q, 0xed, 0xa0, 0x80, q])?.kind == .invalidUTF8)  // encoded surrogate
        #expect(error([q, 0xf4, 0x90, 0x80, 0x80, q])?.kind == .invalidUTF8)  // above U+10FFFF
        #expect(error([q, 0xe2, 0x82, q])?.kind == .invalidUTF8)  // truncated sequence
        #expect(error([0xef, 0xbb, 0xbf, UInt8(ascii: "1")])?.kind == .unexpectedByte(0xef))  // byte-order mark
    }

    @Test func nestingIsLimitedInsteadOfExhaustingTheStack() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try parse(ok) }
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(error(tooDeep) == JSONParseError(.tooDeep(limit: 512), at: 512))
        // Far deeper than any stack could recurse: fails fast, no crash.
        let hostile = String(repeating: "{\"a\":", count: 200_000)
        #expect(error(hostile)?.kind == .tooDeep(limit: 512))
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array("[[[1]]]".utf8), maxDepth: 2) }
    }

    @Test func writerOutputParsesBackToTheSameValue() throws {
        let value = JSONValue.object([
            ("text", .string("quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7f} é 😀")),
            ("numbers", .array([.int(0), .int(-1), .int(.max), .int(.min)])),
            ("nested", .object([("empty", .array([])), ("obj", .object([])), ("null", .null), ("bool", .bool(false))])),
        ])
        #expect(try JSONValue.parse(Array(value.serialized().utf8)) == value)
        #expect(try JSONValue.parse(Array(value.serialized(pretty: true).utf8)) == value)
    }

    @Test func realNftDocumentsRoundTrip() throws {
        for name in ["policy-drop-basic", "opaque", "vmap", "iptables-nft"] {
            let bytes = try TestFiles.fixture("nft/\(name).json")
            let value = try JSONValue.parse(bytes)
            #expect(try JSONValue.parse(Array(value.serialized().utf8)) == value, "\(name)")
        }
    }

    /// Every proper prefix of a real document is incomplete: each must fail
    /// cleanly (never crash, never parse to something).
    @Test func everyPrefixOfARealDocumentFailsCleanly() throws {
        let bytes = try TestFiles.fixture("nft/policy-drop-basic.json")
        let document = bytes.lastIndex(where: { $0 != 0x0a && $0 != 0x20 }).map { bytes[...$0] } ?? []
        for length in 0..<document.count {
            do {
                _ = try JSONValue.parse(Array(document.prefix(length)))
                Issue.record("prefix of \(length) bytes parsed")
            } catch {
                #expect(error.offset <= length, "error offset \(error.offset) past the end of a \(length)-byte prefix")
            }
        }
        #expect(throws: Never.self) { try JSONValue.parse(Array(document)) }
    }

    /// Random bytes, random JSON-ish text and random mutations of a real
    /// document: the parser returns or throws, and never crashes.
    @Test func randomInputNeverCrashes() throws {
        var rng = FirewallFuzzRNG(state: 0x5eed)
        let alphabet = Array("{}[]:,\"\\ 0123456789-+.eEtrufalsn\u{0}\n\tuabcdef".utf8) + [0xc3, 0xa9, 0xff, 0xed, 0xf0]
        var parsed = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...64, using: &rng)
            let useAlphabet = Bool.random(using: &rng)
            let bytes = (0..<length).map { _ in
                useAlphabet ? alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] : UInt8.random(in: 0...255, using: &rng)
            }
            if (try? JSONValue.parse(bytes, maxDepth: 16)) != nil { parsed += 1 }
        }
        let real = try TestFiles.fixture("nft/vmap.json")
        for _ in 0..<2_000 {
            var bytes = real
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)], at: at)
                }
            }
            // A mutated ruleset must also never crash the model built from it.
            _ = try? FirewallModel(nftJSON: bytes).verdict(proto: .tcp, family: .ipv4, port: 22, localAddress: .anyV4)
        }
        #expect(parsed > 0, "some random inputs should be valid JSON (bare numbers, strings)")
    }
}
