import HummingbirdBcrypt
import NIOHTTP1
import PortcullisCore
import PortcullisLinux

/// `basic_auth_users`: checks a request's Basic credentials against the
/// bcrypt hashes. bcrypt is slow on purpose (tens of milliseconds at cost
/// 10), so it runs off the event loop, and a password once verified is
/// remembered for its user (as exporter-toolkit does), or every scrape of a
/// busy fleet would pay for it again.
final class BasicAuthenticator: Sendable {
    let users: [String: String]
    /// Passwords verified per user; bounded, cleared when full.
    let verified = Locked([String: String]())
    static let cacheLimit = 256
    /// A valid hash no password matches, checked for unknown users so that
    /// a wrong user name takes as long as a wrong password.
    static let decoy = "$2b$10$" + String(repeating: "A", count: 53)

    init(users: [String: String]) {
        // OpenBSD's bcrypt (hummingbird-auth's) knows $2a$ and $2b$; htpasswd writes $2y$, the same algorithm.
        self.users = users.mapValues { $0.hasPrefix("$2y$") ? "$2b$" + $0.dropFirst(4) : $0 }
    }

    /// nil when the credentials are good; else the 401 to send.
    func check(_ authorization: String?) async -> HTTPReply? {
        guard let authorization, let credentials = BasicCredentials(authorization: authorization) else { return Self.challenge }
        if verified.withLock({ $0[credentials.user] }).map({ Self.constantTimeEqual($0, credentials.password) }) == true { return nil }
        let hash = users[credentials.user]
        let password = credentials.password
        let good = await BackgroundThread.run { Bcrypt.verify(password, hash: hash ?? Self.decoy) && hash != nil }
        guard good else { return Self.challenge }
        verified.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll() }
            cache[credentials.user] = password
        }
        return nil
    }

    static var challenge: HTTPReply {
        var response = ExporterResponder.text(.unauthorized, "unauthorized: give the user name and password of basic_auth_users\n")
        response.set("WWW-Authenticate", "Basic realm=\"portcullis\", charset=\"UTF-8\"")
        return response
    }

    /// Compares without stopping at the first difference.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference: UInt8 = x.count == y.count ? 0 : 1
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
