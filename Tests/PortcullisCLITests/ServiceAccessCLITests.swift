import Foundation
import Testing

extension CLITests {
    /// `scan --service` against a real redis-server and memcached, through the
    /// CLI, in a network namespace made for the test (so they can have their
    /// usual ports, which pick the probes, including memcached's UDP one).
    @Suite("Access without credentials, through the CLI")
    struct ServiceAccess {
        static let redis = Host.executable("redis-server", preferring: ["/usr/bin/redis-server"])
        static let memcached = Host.executable("memcached", preferring: ["/usr/bin/memcached"])
        static let canRun =
            Host.canMakeNamespaces && Host.isRoot && Host.python3 != nil && redis != nil && memcached != nil
            && Host.executable("ip", preferring: ["/usr/sbin/ip", "/sbin/ip", "/bin/ip"]) != nil

        /// Starts both daemons on 127.0.0.1 of the namespace; they die with the
        /// script (PR_SET_PDEATHSIG), which the namespace's teardown kills.
        static func daemons() throws -> String {
            let redis = try #require(Self.redis)
            let memcached = try #require(Self.memcached)
            return """
                import ctypes, os, pwd, signal, socket, subprocess, sys, time
                libc = ctypes.CDLL("libc.so.6", use_errno=True)
                nobody = pwd.getpwnam("nobody")
                def die_with_parent():
                    libc.prctl(1, signal.SIGKILL)
                def as_nobody_dying_with_parent():
                    # Drop to nobody here, not with memcached's -u: a change of
                    # credentials clears the parent-death signal.
                    os.setgroups([])
                    os.setgid(nobody.pw_gid)
                    os.setuid(nobody.pw_uid)
                    die_with_parent()
                quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                children = [
                    subprocess.Popen(["\(redis)", "--port", "6379", "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", "/tmp"], preexec_fn=die_with_parent, **quiet),
                    subprocess.Popen(["\(memcached)", "-l", "127.0.0.1", "-p", "11211", "-U", "11211"],
                                     preexec_fn=as_nobody_dying_with_parent, **quiet),
                ]
                deadline = time.time() + 20
                for port in (6379, 11211):
                    while True:
                        try:
                            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                            break
                        except OSError:
                            if time.time() > deadline:
                                sys.exit(1)
                            time.sleep(0.05)
                with open(sys.argv[1] + ".tmp", "w") as f:
                    f.write("%d\\n" % os.getpid())
                os.rename(sys.argv[1] + ".tmp", sys.argv[1])
                while all(child.poll() is None for child in children):
                    time.sleep(0.5)
                """
        }

        struct Access: Decodable {
            var request: String
            var answer: String
        }
        struct Service: Decodable {
            var name: String
            var product: String?
            var version: String?
            var extraInfo: String?
            var unauthenticated: Access?
        }
        struct Port: Decodable {
            var proto: String
            var port: Int
            var state: String
            var service: Service?
        }
        struct HostResult: Decodable { var ports: [Port] }
        struct Document: Decodable { var hosts: [HostResult] }

        @Test(.enabled(if: canRun, "needs network namespaces, root, ip, python3, redis-server and memcached"))
        func redisAndMemcachedAnswerWithoutCredentials() throws {
            let namespace = try TestNamespace()
            try namespace.startPython(try Self.daemons())
            defer {
                // Whatever still runs in the test's own namespace is the test's.
                if let listed = try? Subprocess.run("/usr/bin/env", ["ip", "netns", "pids", namespace.name], environment: [:], timeout: 30)
                {
                    for pid in listed.out.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
                }
            }

            let tcp = try namespace.runPortcullis(["scan", "-sV", "-p", "6379,11211", "--format", "json", "127.0.0.1"])
            #expect(tcp.status == 0, "\(tcp)")
            let ports = try #require(try decodeJSON(Document.self, tcp.stdout).hosts.first).ports
            let redis = try #require(ports.first { $0.port == 6379 }?.service, "\(tcp)")
            #expect(redis.product == "Redis key-value store" && redis.version?.first?.isNumber == true, "\(redis)")
            #expect(redis.unauthenticated?.request == "PING" && redis.unauthenticated?.answer == "+PONG", "\(redis)")
            let cache = try #require(ports.first { $0.port == 11211 }?.service, "\(tcp)")
            #expect(cache.product == "Memcached" && cache.extraInfo?.hasPrefix("uptime ") == true, "\(cache)")
            let version = try #require(cache.version)
            #expect(cache.unauthenticated?.request == "stats", "\(cache)")
            #expect(cache.unauthenticated?.answer.contains("STAT version \(version)") == true, "\(cache)")

            let udp = try namespace.runPortcullis(["scan", "-sU", "-sV", "-p", "11211", "--format", "json", "127.0.0.1"])
            #expect(udp.status == 0, "\(udp)")
            let udpPort = try #require(try decodeJSON(Document.self, udp.stdout).hosts.first?.ports.first, "\(udp)")
            #expect(udpPort.proto == "udp" && udpPort.state == "open", "\(udpPort)")
            #expect(udpPort.service?.product == "Memcached" && udpPort.service?.version == version, "\(udpPort)")
            #expect(udpPort.service?.unauthenticated?.request == "stats", "\(udpPort)")

            let text = try namespace.runPortcullis(["scan", "-sV", "-p", "6379", "127.0.0.1"])
            #expect(text.status == 0 && text.out.contains("no authentication: PING -> +PONG"), "\(text)")
        }
    }
}
