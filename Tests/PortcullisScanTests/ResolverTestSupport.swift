import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The fake DNS server of the resolver tests (python3, stdlib only), on a
/// free port of 127.0.0.1, UDP and TCP. Started detached through
/// `subprocess.Popen` by a launcher that exits at once: Foundation's
/// Process waits for every holder of its descriptors, which a long-running
/// child started directly would be. `stop()` kills it by pid; it also exits
/// by itself after 300 s, should a test crash (or its runner be killed)
/// before stopping it.
final class FakeDNSServer {
    let port: UInt16
    /// A UDP port on 127.0.0.1 that was bound and released: nothing listens there.
    let closedPort: UInt16
    let pid: Int32
    private let directory: URL
    private var stopped = false

    /// The system python first (see CLITestSupport's `Host.python3`).
    static let python: String? = {
        for path in ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: path) { return path }
        return nil
    }()

    init() throws {
        let python = try #require(Self.python, "python3 is not installed")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-dns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("fakedns.py")
        try Data(Self.script.utf8).write(to: script)
        let ready = directory.appendingPathComponent("ready")
        let log = directory.appendingPathComponent("log")
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: python)
        launcher.arguments = [
            "-c",
            "import subprocess, sys; subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, "
                + "stdout=subprocess.DEVNULL, stderr=open(sys.argv[-1] + '.stderr', 'w'), start_new_session=True)",
            python, script.path, ready.path, log.path,
        ]
        launcher.standardInput = FileHandle.nullDevice
        launcher.standardOutput = FileHandle.nullDevice
        launcher.standardError = FileHandle.nullDevice
        try launcher.run()
        launcher.waitUntilExit()
        let deadline = Date().addingTimeInterval(30)
        while true {
            if let data = try? Data(contentsOf: ready),
                let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let port = object["port"] as? Int, let closed = object["closed_port"] as? Int, let pid = object["pid"] as? Int
            {
                self.port = UInt16(port)
                closedPort = UInt16(closed)
                self.pid = Int32(pid)
                return
            }
            if Date() > deadline {
                let stderr = (try? String(contentsOf: URL(fileURLWithPath: log.path + ".stderr"), encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(at: directory)
                throw FakeDNSError("the fake DNS server did not start within 30 s; stderr:\n\(stderr)")
            }
            usleep(20_000)
        }
    }

    /// Queries received so far, as `udp|tcp NAME TYPE ID` lines.
    var queries: [String] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        // SIGKILL: nothing to clean up, and it cannot be blocked or ignored.
        kill(pid, SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    /// The server: stdlib only; its zone is the `ZONE` table.
    static let script = #"""
        # A tiny DNS server for the resolver tests: UDP and TCP on one port of
        # 127.0.0.1, answering from a fixed zone. Writes {"port", "closed_port",
        # "pid"} to the ready file once both sockets are bound, logs each query
        # ("udp|tcp NAME TYPE ID") to the log file, and exits after 300 s at most.
        import json, os, signal, socket, struct, sys, threading

        ready_path, log_path = sys.argv[1], sys.argv[2]
        A, CNAME, AAAA = 1, 5, 28
        ZONE = {
            'host.test': {'A': ['192.0.2.10'], 'AAAA': ['2001:db8::10']},
            'v4only.test': {'A': ['192.0.2.11']},
            'alias.test': {'CNAME': 'host.test'},
            'chain.test': {'CNAME': 'alias.test'},
            'empty.test': {},
            'host.corp.test': {'A': ['192.0.2.13']},
            'spoof.test': {'A': ['192.0.2.12']},
            'missing.test': 'NXDOMAIN',
            'broken.test': 'SERVFAIL',
            'silent.test': 'DROP',
            'big.test': 'TRUNCATE',
            'loop.test': 'LOOP',
            'tcploop.test': 'TCPLOOP',
        }
        BIG = {'A': ['198.51.100.%d' % i for i in range(1, 41)]}
        log_lock = threading.Lock()

        def log(line):
            with log_lock, open(log_path, 'a') as f:
                f.write(line + '\n')

        def encode_name(name):
            return b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'

        def parse_query(data):
            qid = struct.unpack('!H', data[:2])[0]
            pos, labels = 12, []
            while data[pos] != 0:
                n = data[pos]
                labels.append(data[pos + 1:pos + 1 + n].decode('ascii', 'replace'))
                pos += 1 + n
            qtype = struct.unpack('!H', data[pos + 1:pos + 3])[0]
            return qid, '.'.join(labels), qtype, data[12:pos + 5]

        def record(owner, rtype, rdata, ttl=300):
            return owner + struct.pack('!HHIH', rtype, 1, ttl, len(rdata)) + rdata

        def reply(qid, name, qtype, question, zone=ZONE, tcp=False):
            key, rcode, tc, answers = name.lower(), 0, False, []
            entry = zone.get(key)
            if entry is None or entry == 'NXDOMAIN':
                rcode = 3
            elif entry == 'SERVFAIL':
                rcode = 2
            elif entry == 'TRUNCATE' and not tcp:
                tc = True
            else:
                if entry == 'TRUNCATE':
                    entry = BIG
                owner, offset, current = b'\xc0\x0c', 12 + len(question), key
                # CNAMEs: each next owner is a compression pointer into the previous RDATA.
                while isinstance(zone.get(current), dict) and 'CNAME' in zone[current]:
                    target = zone[current]['CNAME']
                    rdata = encode_name(target)
                    rr = record(owner, CNAME, rdata)
                    owner = struct.pack('!H', 0xC000 | (offset + len(rr) - len(rdata)))
                    answers.append(rr)
                    offset += len(rr)
                    current = target
                final = entry if entry is BIG else zone.get(current, {})
                family = {A: ('A', socket.AF_INET), AAAA: ('AAAA', socket.AF_INET6)}.get(qtype)
                if family:
                    for address in final.get(family[0], []):
                        answers.append(record(owner, qtype, socket.inet_pton(family[1], address)))
            flags = 0x8000 | 0x0100 | 0x0080 | rcode | (0x0200 if tc else 0)
            return struct.pack('!HHHHHH', qid, flags, 1, len(answers), 0, 0) + question + b''.join(answers)

        def hostile(qid, question):
            # An answer whose owner name is a compression pointer to itself:
            # a parser that follows pointers without a limit never returns.
            at = 12 + len(question)
            answer = struct.pack('!H', 0xC000 | at) + struct.pack('!HHIH', A, 1, 300, 4) + bytes(4)
            return struct.pack('!HHHHHH', qid, 0x8180, 1, 1, 0, 0) + question + answer

        def serve_udp(sock):
            while True:
                data, peer = sock.recvfrom(4096)
                qid, name, qtype, question = parse_query(data)
                log('udp %s %d %d' % (name, qtype, qid))
                key = name.lower()
                if ZONE.get(key) == 'LOOP':
                    # The loop, then a flood of garbage carrying the query's ID.
                    sock.sendto(hostile(qid, question), peer)
                    for i in range(200):
                        sock.sendto(struct.pack('!H', qid) + os.urandom(4094), peer)
                    continue
                if ZONE.get(key) == 'TCPLOOP':
                    sock.sendto(reply(qid, name, qtype, question, {key: 'TRUNCATE'}), peer)
                    continue
                if ZONE.get(key) == 'DROP':
                    continue
                if key == 'spoof.test':
                    fake = {'spoof.test': {'A': ['203.0.113.66'], 'AAAA': ['2001:db8::66']}}
                    # Wrong ID from the right address and port: must be ignored.
                    sock.sendto(reply(qid ^ 0x5555, name, qtype, question, fake), peer)
                    # Right ID from another port: the kernel or the resolver must drop it.
                    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    other.bind(('127.0.0.1', 0))
                    other.sendto(reply(qid, name, qtype, question, {'spoof.test': {'A': ['203.0.113.77']}}), peer)
                    other.close()
                    # An answer to a different question with the right ID: ignored too.
                    other_question = encode_name('host.test') + struct.pack('!HH', qtype, 1)
                    sock.sendto(reply(qid, 'host.test', qtype, other_question), peer)
                    sock.sendto(b'\x00\x01garbage', peer)
                sock.sendto(reply(qid, name, qtype, question), peer)

        def read_exactly(conn, n):
            data = b''
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    raise EOFError
                data += chunk
            return data

        def serve_tcp(listener):
            while True:
                conn, _ = listener.accept()
                try:
                    length = struct.unpack('!H', read_exactly(conn, 2))[0]
                    qid, name, qtype, question = parse_query(read_exactly(conn, length))
                    log('tcp %s %d %d' % (name, qtype, qid))
                    if ZONE.get(name.lower()) == 'TCPLOOP':
                        message = hostile(qid, question)
                    else:
                        message = reply(qid, name, qtype, question, tcp=True)
                    conn.sendall(struct.pack('!H', len(message)) + message)
                except (EOFError, OSError):
                    pass
                finally:
                    conn.close()

        def main():
            # The test process's threads block most signals, and a spawned child
            # inherits that mask: unblock them, or SIGTERM would never arrive.
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            threading.Timer(300, lambda: os._exit(0)).start()
            while True:
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                udp.bind(('127.0.0.1', 0))
                port = udp.getsockname()[1]
                tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    tcp.bind(('127.0.0.1', port))
                    break
                except OSError:
                    udp.close()
                    tcp.close()
            tcp.listen(16)
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probe.bind(('127.0.0.1', 0))
            closed_port = probe.getsockname()[1]
            probe.close()
            threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
            with open(ready_path + '.tmp', 'w') as f:
                json.dump({'port': port, 'closed_port': closed_port, 'pid': os.getpid()}, f)
            os.rename(ready_path + '.tmp', ready_path)
            serve_udp(udp)

        main()
        """#
}

struct FakeDNSError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
