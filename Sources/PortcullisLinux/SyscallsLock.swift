#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A value behind a lock: the one lock of the package's threads.
///
/// A pthread mutex rather than the Synchronization module's `Mutex`, which
/// on Linux waits with futex(2) called directly: ThreadSanitizer does not see
/// that lock, so every access made under it was reported as a race
/// (`bench/sanitize.sh thread`). It sees pthread_mutex_lock and
/// pthread_mutex_unlock, so a race it reports here is a real one. The cost is
/// the same: an uncontended pthread mutex is one atomic operation each way.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// A lock guarding `value`.
    public init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock; what `body` returns or throws is passed on.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
