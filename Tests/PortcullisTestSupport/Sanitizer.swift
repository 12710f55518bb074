import Glibc

/// The sanitizer this test process was built with (`swift test
/// --sanitize=address|thread`, as `bench/sanitize.sh` runs the suite), found
/// at run time from the sanitizer runtime's own entry point, so a run by hand
/// does the same. Instrumented code is several times slower and larger: the
/// few checks that measure time stretch their bounds by `timeScale`, and a
/// check a sanitizer makes meaningless (a resident-size bound) is skipped
/// under one with the reason; everything else runs as it is.
public enum Sanitizer: String, Sendable {
    case address
    case thread

    /// Nil in a plain build.
    public static let active: Sanitizer? = {
        let program = dlopen(nil, RTLD_NOW)
        defer { if let program { dlclose(program) } }
        if dlsym(program, "__asan_init") != nil { return .address }
        if dlsym(program, "__tsan_init") != nil { return .thread }
        return nil
    }()

    /// How much slower instrumented code runs, for wall-clock bounds and
    /// for delays that must let a program get somewhere: 1 in a plain build.
    /// Generous (ASan costs about 2x, TSan 5-15x), since the runs share a
    /// loaded machine.
    public static let timeScale: Double =
        switch active {
        case nil: 1
        case .address: 4
        case .thread: 10
        }

    /// `seconds` stretched by `timeScale`.
    public static func scaled(_ seconds: Double) -> Double { seconds * timeScale }

    /// A test's time limit of `minutes` (a hang guard, not a speed bound),
    /// stretched by `timeScale` and rounded up to whole minutes as
    /// `.timeLimit` takes them.
    public static func minutes(_ minutes: Int) -> Int { Int((Double(minutes) * timeScale).rounded(.up)) }

    /// Nil in a plain build, else why a check is skipped: "built with
    /// --sanitize=thread: WHY".
    public static func skipReason(_ why: String) -> String? {
        active.map { "built with --sanitize=\($0.rawValue): \(why)" }
    }
}
