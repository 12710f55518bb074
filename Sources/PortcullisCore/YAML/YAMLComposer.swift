internal import CYAML

/// Builds a `YAMLNode` tree from libyaml's events. libyaml does the
/// scanning (the YAML 1.1 grammar, quoting, escapes, folding, UTF-8
/// checks); this does what a composer must: aliases, duplicate keys, one
/// document, and limits, so that a small hostile file cannot make a large
/// tree.
///
/// Parsing is from memory only: no I/O, which keeps it in the pure Core.
enum YAMLComposer {
    /// Bounds on what a document may become.
    struct Limits: Sendable {
        /// Nodes in the tree, counting every node an alias repeats: the
        /// "billion laughs" defence. A million is far beyond a hand-written
        /// file and still quick to walk.
        var maxNodes = 1_000_000
        /// Nodes inside collections inside collections, aliases included.
        /// libyaml itself has no bound, and readers walk the tree recursively.
        var maxDepth = 256
        /// Whether `&anchor` and `*alias` are accepted at all.
        var anchors = true
    }

    /// The single document of `text`, or nil when there is none (empty
    /// text, only comments). A second document is an error.
    static func compose(_ text: String, limits: Limits = Limits()) throws(YAMLError) -> YAMLNode? {
        try compose(bytes: Array(text.utf8), limits: limits)
    }

    /// As `compose(_:limits:)`, for bytes not yet known to be UTF-8: libyaml
    /// checks them (and skips a UTF-8 byte-order mark).
    static func compose(bytes: [UInt8], limits: Limits = Limits()) throws(YAMLError) -> YAMLNode? {
        // libyaml asserts a non-null input; an empty text has no document.
        if bytes.isEmpty { return nil }
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(YAMLError) in try run(buffer, limits: limits) }
        }
        return try result.get()
    }

    private static func run(_ buffer: UnsafeBufferPointer<UInt8>, limits: Limits) throws(YAMLError) -> YAMLNode? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            throw YAMLError(kind: .outOfMemory, mark: YAMLMark(line: 1, column: 1), message: "out of memory")
        }
        defer { yaml_parser_delete(parser) }
        // No yaml_parser_set_encoding: libyaml then detects the encoding
        // itself, which is what skips a byte-order mark (set explicitly, a
        // BOM is read as a character that shifts every column of line 1).
        yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)

        var builder = Builder(limits: limits)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(parser, &event) == 1 else { throw error(of: parser.pointee, input: buffer) }
            // Deleted on every path, the throwing ones included.
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { return builder.root }
            try builder.handle(event)
        }
    }

    // MARK: Events to nodes

    /// The tree under construction: a stack of open collections.
    private struct Builder {
        /// An open sequence or mapping.
        struct Frame {
            var isMapping: Bool
            var style: YAMLCollectionStyle
            var tag: String?
            var anchor: String?
            var mark: YAMLMark
            var items: [YAMLNode] = []
            var pairs: [YAMLPair] = []
            /// A mapping's key awaiting its value.
            var key: YAMLNode?
            /// Scalar keys seen, with where: duplicates are found in O(1).
            var keys: [String: YAMLMark] = [:]
            /// Nodes in this subtree, itself included, and its height.
            var count = 1
            var height = 1
        }

        /// An anchored node and its size, so an alias is counted without walking it.
        struct Anchored {
            var node: YAMLNode
            var count: Int
            var height: Int
        }

        let limits: Limits
        var stack: [Frame] = []
        var anchors: [String: Anchored] = [:]
        var documents = 0
        var total = 0
        var root: YAMLNode?

        init(limits: Limits) { self.limits = limits }

        mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
            let mark = YAMLComposer.mark(event.start_mark)
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw YAMLError(kind: .secondDocument, mark: mark, message: "expected a single document, but found another document")
                }
            case YAML_ALIAS_EVENT:
                try refuseAnchor(event.data.alias.anchor, at: mark)
                let name = string(event.data.alias.anchor) ?? ""
                // Defined before, and complete: `&a [*a]` is undefined too.
                guard let anchored = anchors[name] else {
                    throw YAMLError(kind: .undefinedAlias, mark: mark, message: "found undefined alias")
                }
                try add(anchored.node, count: anchored.count, height: anchored.height, at: mark)
            case YAML_SCALAR_EVENT:
                let data = event.data.scalar
                try refuseAnchor(data.anchor, at: mark)
                // The value may hold NUL ("\0"): use the length, not the terminator.
                let value = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
                let scalar = YAMLNode.scalar(
                    YAMLScalar(string: value, style: Self.style(data.style), tag: string(data.tag), mark: mark))
                try add(scalar, count: 1, height: 1, at: mark)
                if let anchor = string(data.anchor) { anchors[anchor] = Anchored(node: scalar, count: 1, height: 1) }
            case YAML_SEQUENCE_START_EVENT:
                let data = event.data.sequence_start
                try open(
                    Frame(
                        isMapping: false, style: data.style == YAML_FLOW_SEQUENCE_STYLE ? .flow : .block, tag: string(data.tag),
                        anchor: string(data.anchor), mark: mark),
                    anchor: data.anchor)
            case YAML_MAPPING_START_EVENT:
                let data = event.data.mapping_start
                try open(
                    Frame(
                        isMapping: true, style: data.style == YAML_FLOW_MAPPING_STYLE ? .flow : .block, tag: string(data.tag),
                        anchor: string(data.anchor), mark: mark),
                    anchor: data.anchor)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                let node: YAMLNode =
                    frame.isMapping
                    ? .mapping(YAMLMapping(pairs: frame.pairs, style: frame.style, tag: frame.tag, mark: frame.mark))
                    : .sequence(YAMLSequence(items: frame.items, style: frame.style, tag: frame.tag, mark: frame.mark))
                // Counted in `total` when opened and as its children arrived.
                try attach(node, count: frame.count, height: frame.height)
                if let anchor = frame.anchor { anchors[anchor] = Anchored(node: node, count: frame.count, height: frame.height) }
            default:  // stream start, document end: nothing to build
                break
            }
        }

        func refuseAnchor(_ anchor: UnsafeMutablePointer<yaml_char_t>?, at mark: YAMLMark) throws(YAMLError) {
            if !limits.anchors && anchor != nil {
                throw YAMLError(kind: .anchorRefused, mark: mark, message: "anchors and aliases are not accepted")
            }
        }

        mutating func open(_ frame: Frame, anchor: UnsafeMutablePointer<yaml_char_t>?) throws(YAMLError) {
            try refuseAnchor(anchor, at: frame.mark)
            guard stack.count < limits.maxDepth else { throw tooDeep(frame.mark) }
            try count(1, at: frame.mark)
            stack.append(frame)
        }

        /// A scalar or an alias's node: counted, then attached.
        mutating func add(_ node: YAMLNode, count nodes: Int, height: Int, at mark: YAMLMark) throws(YAMLError) {
            guard stack.count + height <= limits.maxDepth else { throw tooDeep(mark) }
            try count(nodes, at: mark)
            try attach(node, count: nodes, height: height)
        }

        mutating func count(_ nodes: Int, at mark: YAMLMark) throws(YAMLError) {
            // Checked before adding: an alias's count can be huge.
            guard nodes <= limits.maxNodes - total else {
                throw YAMLError(
                    kind: .tooManyNodes, mark: mark,
                    message: "the document grows past \(limits.maxNodes) nodes here (aliases repeat what they name); refusing to expand it")
            }
            total += nodes
        }

        func tooDeep(_ mark: YAMLMark) -> YAMLError {
            YAMLError(kind: .tooDeep, mark: mark, message: "nodes are nested more than \(limits.maxDepth) deep")
        }

        /// Puts a complete node in its parent (or makes it the root).
        mutating func attach(_ node: YAMLNode, count nodes: Int, height: Int) throws(YAMLError) {
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            stack[top].count += nodes
            stack[top].height = max(stack[top].height, height + 1)
            guard stack[top].isMapping else {
                stack[top].items.append(node)
                return
            }
            guard let key = stack[top].key else {
                if case .scalar(let scalar) = node {
                    if let first = stack[top].keys[scalar.string] {
                        throw YAMLError(
                            kind: .duplicateKey(key: scalar.string, first: first), mark: scalar.mark,
                            message: "duplicate key, already given on line \(first.line)")
                    }
                    stack[top].keys[scalar.string] = scalar.mark
                }
                stack[top].key = node
                return
            }
            stack[top].pairs.append(YAMLPair(key: key, value: node))
            stack[top].key = nil
        }

        static func style(_ style: yaml_scalar_style_t) -> YAMLScalar.Style {
            switch style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: return .literal
            case YAML_FOLDED_SCALAR_STYLE: return .folded
            default: return .plain
            }
        }
    }

    // MARK: libyaml's errors

    static func mark(_ mark: yaml_mark_t) -> YAMLMark {
        YAMLMark(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    /// The parser's error in its own words, at its mark: "problem (context
    /// started at line L, column C)", the wording of the messages before.
    static func error(of parser: yaml_parser_t, input: UnsafeBufferPointer<UInt8>) -> YAMLError {
        let problem = string(parser.problem) ?? "unknown problem"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return YAMLError(kind: .outOfMemory, mark: YAMLMark(line: 1, column: 1), message: "out of memory")
        case YAML_READER_ERROR:
            // The reader gives a byte offset, not a mark. A bad trailing
            // octet is reported at itself: point at the character it breaks.
            var offset = parser.problem_offset
            if problem == "invalid trailing UTF-8 octet" {
                var start = offset
                while start > 0 && offset - start < 4 && input[start - 1] & 0xC0 == 0x80 { start -= 1 }
                if start > 0 && input[start - 1] >= 0xC0 { offset = start - 1 }
            }
            let at = position(ofByte: offset, in: input)
            let encoding = problem.contains("UTF-8") || problem.contains("Unicode")
            return YAMLError(kind: .reader, mark: at, message: encoding ? "\(problem): the text is not valid UTF-8" : problem)
        default:  // scanner, parser
            var message = problem
            if let context = string(parser.context) {
                message += " (\(context) started at \(mark(parser.context_mark)))"
            }
            return YAMLError(kind: .syntax, mark: mark(parser.problem_mark), message: message)
        }
    }

    /// Line and column of byte `offset`, counted as libyaml's marks are:
    /// CR LF, CR, LF, NEL, LS and PS end a line; columns are Unicode
    /// scalars; a leading byte-order mark takes no column.
    static func position(ofByte offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> YAMLMark {
        var line = 1
        var column = 1
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let end = min(offset, bytes.count)
        while index < end {
            let byte = bytes[index]
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            let third = index + 2 < bytes.count ? bytes[index + 2] : 0
            if byte == 0x0D && next == 0x0A {
                index += 1  // the LF ends the line
                continue
            }
            if byte == 0x0A || byte == 0x0D || (byte == 0xC2 && next == 0x85)
                || (byte == 0xE2 && next == 0x80 && (third == 0xA8 || third == 0xA9))
            {
                line += 1
                column = 1
                index += byte == 0xC2 ? 2 : byte == 0xE2 ? 3 : 1
                continue
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return YAMLMark(line: line, column: column)
    }
}

/// A C string from libyaml, or nil for NULL.
private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    pointer.map { String(cString: $0) }
}

private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}
