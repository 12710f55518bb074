import Testing

@testable import PortcullisCore

/// The YAML composer over libyaml's event parser: what it builds, where it
/// says things are, and what it refuses.
@Suite struct YAMLComposerTests {
    /// The tree without marks and styles: `{a: [1, 2]}` for both spellings.
    static func shape(_ node: YAMLNode?) -> String {
        switch node {
        case nil: return "none"
        case .scalar(let scalar): return scalar.string
        case .sequence(let sequence): return "[" + sequence.items.map { shape($0) }.joined(separator: ", ") + "]"
        case .mapping(let mapping): return "{" + mapping.pairs.map { shape($0.key) + ": " + shape($0.value) }.joined(separator: ", ") + "}"
        }
    }

    static func compose(_ text: String) throws(YAMLError) -> YAMLNode? { try YAMLComposer.compose(text) }

    /// The error `text` gives, or nil when it composes.
    static func failure(_ text: String, limits: YAMLComposer.Limits = YAMLComposer.Limits()) -> YAMLError? {
        do throws(YAMLError) {
            _ = try YAMLComposer.compose(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    static func value(_ node: YAMLNode?, _ key: String) -> YAMLNode? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.pairs.first { $0.key.scalar?.string == key }?.value
    }

    @Test(arguments: ["", "\n", "# only a comment\n", "  # indented\n\n"])
    func noDocumentIsNil(text: String) throws {
        #expect(try Self.compose(text) == nil)
    }

    @Test func flowAndBlockStylesBuildTheSameTree() throws {
        let flow = try Self.compose("{a: [1, 2], b: {c: d}, e: []}")
        let block = try Self.compose("a:\n  - 1\n  - 2\nb:\n  c: d\ne: []\n")
        #expect(Self.shape(flow) == "{a: [1, 2], b: {c: d}, e: []}")
        #expect(Self.shape(block) == Self.shape(flow))
        guard case .mapping(let outer) = flow, case .mapping(let blockOuter) = block,
            case .sequence(let list) = Self.value(block, "a")
        else {
            Issue.record("not mappings")
            return
        }
        #expect(outer.style == .flow && blockOuter.style == .block && list.style == .block)
        // Marks are 1-based, as libyaml's (0-based) plus one.
        #expect(list.mark == YAMLMark(line: 2, column: 3))
        #expect(list.items[1].mark == YAMLMark(line: 3, column: 5))
        #expect(blockOuter.pairs[1].key.mark == YAMLMark(line: 4, column: 1))
    }

    @Test func keepsKeyOrder() throws {
        guard case .mapping(let mapping) = try Self.compose("z: 1\na: 2\nm: 3\n") else {
            Issue.record("not a mapping")
            return
        }
        #expect(mapping.pairs.map { $0.key.scalar?.string } == ["z", "a", "m"])
    }

    @Test func quotedAndPlainNulls() throws {
        let root = try Self.compose("a: null\nb: 'null'\nc: ~\nd:\ne: \"\"\nf: NULL\n")
        let nulls = ["a", "b", "c", "d", "e", "f"].map { key in Self.value(root, key).map(PolicyParser.isNull) }
        #expect(nulls == [true, false, true, true, false, true])
        #expect(Self.value(root, "b")?.scalar?.style == .singleQuoted)
        #expect(Self.value(root, "e")?.scalar?.style == .doubleQuoted)
        #expect(Self.value(root, "d")?.scalar == YAMLScalar(string: "", style: .plain, mark: YAMLMark(line: 4, column: 3)))
    }

    @Test func multiLineScalars() throws {
        let text = "literal: |\n  one\n  two\nfolded: >\n  one\n  two\nplain: one\n  two\nquoted: \"one\\ttwo\\0\"\n"
        let root = try Self.compose(text)
        #expect(Self.value(root, "literal")?.scalar?.string == "one\ntwo\n")
        #expect(Self.value(root, "literal")?.scalar?.style == .literal)
        #expect(Self.value(root, "folded")?.scalar?.string == "one two\n")
        #expect(Self.value(root, "folded")?.scalar?.style == .folded)
        #expect(Self.value(root, "plain")?.scalar?.string == "one two")
        // Escapes, NUL included: the value is taken by its length.
        #expect(Self.value(root, "quoted")?.scalar?.string == "one\ttwo\u{0}")
    }

    @Test func tagsAreKeptNotResolved() throws {
        let root = try Self.compose("a: !!str 1\nb: 1\nc: !!map {}\n")
        #expect(Self.value(root, "a")?.tag == "tag:yaml.org,2002:str")
        #expect(Self.value(root, "b")?.tag == nil && Self.value(root, "b")?.scalar?.string == "1")
        #expect(Self.value(root, "c")?.tag == "tag:yaml.org,2002:map")
        // The mark of a node with a tag or anchor is where those start.
        #expect(Self.value(root, "a")?.mark == YAMLMark(line: 1, column: 4))
    }

    @Test func tabsSeparateButDoNotIndent() throws {
        #expect(Self.value(try Self.compose("a:\tb\n"), "a")?.scalar?.string == "b")
        let error = Self.failure("a:\n\t- b\n")
        #expect(error?.kind == .syntax && error?.mark == YAMLMark(line: 2, column: 1))
        #expect(
            error?.message == "found character that cannot start any token (while scanning for the next token started at line 2, column 1)")
    }

    @Test func byteOrderMarkTakesNoColumn() throws {
        let root = try Self.compose("\u{feff}a: 1\nb: 2\n")
        guard case .mapping(let mapping) = root else {
            Issue.record("not a mapping")
            return
        }
        #expect(mapping.pairs[0].key.mark == YAMLMark(line: 1, column: 1))
        #expect(mapping.pairs[1].value.mark == YAMLMark(line: 2, column: 4))
        // And in a reader error's position, computed from a byte offset.
        #expect(Self.failure("\u{feff}a: \u{1}\n")?.mark == YAMLMark(line: 1, column: 4))
    }

    @Test func crlfLineEndings() throws {
        let root = try Self.compose("a: 1\r\nb: |\r\n  x\r\n  y\r\n")
        #expect(Self.value(root, "a")?.scalar?.string == "1")
        #expect(Self.value(root, "b")?.scalar?.string == "x\ny\n")
        #expect(Self.value(root, "b")?.mark == YAMLMark(line: 2, column: 4))
        let error = Self.failure("a: 1\r\nb: 2\r\nc: \u{7}\r\n")
        #expect(error?.kind == .reader && error?.mark == YAMLMark(line: 3, column: 4))
        #expect(error?.message == "control characters are not allowed")
    }

    @Test func invalidUTF8IsAReaderErrorAtItsByte() {
        for (bytes, column) in [([0x61, 0x3a, 0x20, 0xff, 0x0a], 4), ([0x61, 0x3a, 0x20, 0xc3, 0xa9, 0xc3, 0x0a], 5)] as [([UInt8], Int)] {
            do throws(YAMLError) {
                _ = try YAMLComposer.compose(bytes: bytes)
                Issue.record("\(bytes) composed")
            } catch {
                #expect(error.kind == .reader)
                #expect(error.mark == YAMLMark(line: 1, column: column))
                #expect(error.message.hasSuffix("the text is not valid UTF-8"))
            }
        }
    }

    @Test func syntaxErrorsKeepLibyamlsWordsAndPlace() {
        let error = Self.failure("a: b: c\n")
        #expect(
            error == YAMLError(kind: .syntax, mark: YAMLMark(line: 1, column: 5), message: "mapping values are not allowed in this context")
        )
        let unclosed = Self.failure("a:\n  - [1, 2\n  - 3\n")
        #expect(unclosed?.kind == .syntax && unclosed?.mark == YAMLMark(line: 4, column: 1))
        #expect(unclosed?.message == "did not find expected ',' or ']' (while parsing a flow sequence started at line 2, column 5)")
    }

    @Test func oneDocumentOnly() throws {
        #expect(Self.shape(try Self.compose("---\na: 1\n...\n")) == "{a: 1}")
        #expect(Self.shape(try Self.compose("---\n")) == "")
        let error = Self.failure("a: 1\n---\nb: 2\n")
        #expect(error?.kind == .secondDocument && error?.mark == YAMLMark(line: 2, column: 1))
    }

    @Test func duplicateKeysAreReportedAtTheSecond() {
        let error = Self.failure("a: 1\nb:\n  c: 1\n  c: 2\n")
        #expect(error?.kind == .duplicateKey(key: "c", first: YAMLMark(line: 3, column: 3)))
        #expect(error?.mark == YAMLMark(line: 4, column: 3))
        #expect(Self.failure("{x: 1, y: 2, x: 3}")?.mark == YAMLMark(line: 1, column: 14))
        // Readers treat quoted and plain keys alike, so the composer does.
        #expect(Self.failure("22: a\n\"22\": b\n")?.kind == .duplicateKey(key: "22", first: YAMLMark(line: 1, column: 1)))
        // The same key in different mappings is fine.
        #expect(Self.failure("- {a: 1}\n- {a: 2}\n") == nil)
    }

    @Test func anchorsAndAliasesResolveToTheAnchoredNode() throws {
        let root = try Self.compose("base: &b {port: 22, proto: tcp}\ncopy: *b\nlist: [&s x, *s, *s]\n")
        #expect(Self.shape(root) == "{base: {port: 22, proto: tcp}, copy: {port: 22, proto: tcp}, list: [x, x, x]}")
        #expect(Self.value(root, "copy") == Self.value(root, "base"))
        // A later anchor of the same name shadows the earlier one.
        #expect(Self.shape(try Self.compose("- &a 1\n- &a 2\n- *a\n")) == "[1, 2, 2]")
        let undefined = Self.failure("a: *nowhere\n")
        #expect(undefined?.kind == .undefinedAlias && undefined?.mark == YAMLMark(line: 1, column: 4))
        // An anchor is defined once its node is complete: no cycles.
        #expect(Self.failure("a: &x [*x]\n")?.kind == .undefinedAlias)
    }

    @Test func anchorsCanBeRefused() {
        var limits = YAMLComposer.Limits()
        limits.anchors = false
        #expect(
            Self.failure("a: &x 1\n", limits: limits)
                == YAMLError(kind: .anchorRefused, mark: YAMLMark(line: 1, column: 4), message: "anchors and aliases are not accepted"))
        #expect(Self.failure("a: *x\n", limits: limits)?.kind == .anchorRefused)
        #expect(Self.failure("a: '&x *y'\n", limits: limits) == nil)
    }

    /// "Billion laughs": nine levels of nine aliases would be 9^9 nodes.
    @Test func aliasBombsStopAtTheNodeCap() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        let clock = ContinuousClock()
        let start = clock.now
        let error = Self.failure(text)
        #expect(clock.now - start < .seconds(2))
        #expect(error?.kind == .tooManyNodes)
        // Line 7: a6's first alias repeats a5's 597,871 nodes, past a million.
        #expect(error?.mark.line == 7)
        #expect(error?.message.contains("1000000 nodes") == true)
        // A smaller cap stops it sooner.
        var limits = YAMLComposer.Limits()
        limits.maxNodes = 100
        #expect(Self.failure(text, limits: limits)?.mark == YAMLMark(line: 2, column: 50))
    }

    @Test func nestingIsCapped() throws {
        let ok = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        #expect(Self.shape(try Self.compose(ok)).count == 512)
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        let error = Self.failure(deep)
        #expect(error?.kind == .tooDeep && error?.mark == YAMLMark(line: 1, column: 257))
        #expect(error?.message == "nodes are nested more than 256 deep")
        // Depth through an alias counts the anchored node's own depth.
        let viaAlias =
            "a: &a " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n"
            + "b: " + String(repeating: "[", count: 100) + "*a" + String(repeating: "]", count: 100) + "\n"
        let aliasError = Self.failure(viaAlias)
        #expect(aliasError?.kind == .tooDeep && aliasError?.mark.line == 2)
    }

    /// The policy and the web configuration word the composer's errors for their files.
    @Test func policyAndWebConfigWordTheErrors() {
        let deep = "allow: " + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "\n"
        #expect {
            try Policy.parse(deep, file: "p.yaml")
        } throws: { error in
            (error as? PolicyError)?.description == "p.yaml:1:263: invalid YAML: nodes are nested more than 256 deep"
        }
        #expect {
            try WebConfig.parse("basic_auth_users: {}\n---\n", file: "web.yml")
        } throws: { error in
            (error as? WebConfigError)?.description
                == "web.yml:2:1: a web configuration file holds one YAML document; remove this second one (or the `---` that starts it)"
        }
        #expect {
            try WebConfig.parse("basic_auth_users:\n  alice: x\n  alice: y\n", file: "web.yml")
        } throws: { error in
            (error as? WebConfigError)?.description
                == "web.yml:3:3: duplicate key 'alice', already given on line 2; each key may appear once"
        }
    }

    @Test func describesWithLineAndColumn() {
        let error = YAMLError(kind: .syntax, mark: YAMLMark(line: 3, column: 7), message: "m")
        #expect(error.description == "line 3, column 7: m")
    }
}
