/// Where a node or a problem is in YAML text: 1-based line and column,
/// columns counted in Unicode scalars (libyaml's unit, what editors show for
/// ASCII text). A byte-order mark does not count.
struct YAMLMark: Sendable, Equatable, CustomStringConvertible {
    /// 1-based line.
    var line: Int
    /// 1-based column, in Unicode scalars.
    var column: Int

    /// `line L, column C`.
    var description: String { "line \(line), column \(column)" }
}

/// A node of a composed YAML document. Tags are kept as written (libyaml
/// expands `!!str` to `tag:yaml.org,2002:str`) but never resolved: readers
/// decide what a scalar means, so `22` and `"22"` can agree.
enum YAMLNode: Sendable, Equatable {
    case scalar(YAMLScalar)
    case sequence(YAMLSequence)
    case mapping(YAMLMapping)

    /// Where the node starts (its anchor or tag, when it has one).
    var mark: YAMLMark {
        switch self {
        case .scalar(let scalar): return scalar.mark
        case .sequence(let sequence): return sequence.mark
        case .mapping(let mapping): return mapping.mark
        }
    }

    /// The scalar, when this is one.
    var scalar: YAMLScalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }

    /// The explicit tag, if any.
    var tag: String? {
        switch self {
        case .scalar(let scalar): return scalar.tag
        case .sequence(let sequence): return sequence.tag
        case .mapping(let mapping): return mapping.tag
        }
    }
}

/// A scalar: its text after unquoting, unescaping and folding, and how it
/// was written (a quoted `"null"` is a string, a plain `null` is not).
struct YAMLScalar: Sendable, Equatable {
    /// How the scalar was written.
    enum Style: Sendable, Equatable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// The value, as UTF-8 text (it may contain NUL, from `"\0"`).
    var string: String
    /// How it was written.
    var style: Style
    /// The explicit tag, if any.
    var tag: String?
    /// Where it starts.
    var mark: YAMLMark
}

/// Block (indented) or flow (`[a, b]`, `{a: b}`) collection.
enum YAMLCollectionStyle: Sendable, Equatable {
    case block, flow
}

/// A sequence's items, in order.
struct YAMLSequence: Sendable, Equatable {
    /// The items.
    var items: [YAMLNode]
    /// How it was written.
    var style: YAMLCollectionStyle
    /// The explicit tag, if any.
    var tag: String?
    /// Where it starts.
    var mark: YAMLMark
}

/// One key and its value.
struct YAMLPair: Sendable, Equatable {
    /// The key (usually a scalar; YAML allows any node).
    var key: YAMLNode
    /// The value.
    var value: YAMLNode
}

/// A mapping's pairs in the order written. No two scalar keys have the
/// same text (the composer refuses the duplicate).
struct YAMLMapping: Sendable, Equatable {
    /// The pairs.
    var pairs: [YAMLPair]
    /// How it was written.
    var style: YAMLCollectionStyle
    /// The explicit tag, if any.
    var tag: String?
    /// Where it starts.
    var mark: YAMLMark
}

/// YAML that cannot be composed: where and why.
struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers that word some cases themselves.
    enum Kind: Sendable, Equatable {
        /// libyaml's scanner or parser refused the text (`message` is its own words).
        case syntax
        /// libyaml's reader refused a character: invalid UTF-8, a control character.
        case reader
        /// A second document (`---`) after the first.
        case secondDocument
        /// A mapping key whose text an earlier key of the same mapping has; `mark` is the second one's.
        case duplicateKey(key: String, first: YAMLMark)
        /// An anchor or alias where the options refuse them.
        case anchorRefused
        /// An alias naming no anchor defined before it.
        case undefinedAlias
        /// More nodes than `YAMLComposer.Limits.maxNodes`, counting what aliases repeat.
        case tooManyNodes
        /// Collections nested deeper than `YAMLComposer.Limits.maxDepth`.
        case tooDeep
        /// libyaml could not allocate memory.
        case outOfMemory
    }

    /// What went wrong.
    var kind: Kind
    /// Where.
    var mark: YAMLMark
    /// A one-line explanation (not yet escaped: it may quote the text).
    var message: String

    /// `line L, column C: message`.
    var description: String { "\(mark): \(message)" }
}
