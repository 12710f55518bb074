import Foundation
import PortcullisCore
import PortcullisTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `scan -sV` against peers that attack the scanner (issue 17): each one
/// ends within the probes' timeouts, memory stays bounded, and the output
/// stays readable, a garbage banner escaped and cut in the table but whole
/// in the JSON.
extension CLITests {
    @Suite("scan against hostile peers")
    struct ScanHostilePeers {
        static let time = Host.executable("time", preferring: ["/usr/bin/time"])

        /// One listener per behaviour on 127.0.0.1, all in one python
        /// process; the ready line maps each behaviour to its port, and
        /// `garbage` is the hex of the first bytes the endless peer sends.
        static let script = #"""
            import json, random, socket, struct, sys, threading, time

            rng = random.Random(17)
            # A banner that never ends: escapes, C1 controls, invalid UTF-8, no newline.
            GARBAGE = b"\x1b[2J\x1b]0;owned\x07\x9b31m\xc3\x28\xff\xfe" + bytes(
                rng.choice([b for b in range(1, 256) if b not in (0x0a, 0x0d)]) for _ in range(16384))

            def u24(n): return struct.pack(">I", n)[1:]
            def record(kind, body): return bytes([kind, 3, 3]) + struct.pack(">H", len(body)) + body
            def handshake(kind, body): return bytes([kind]) + u24(len(body)) + body
            SERVER_HELLO = handshake(2, b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x2f" + b"\x00")
            def der_length(n):
                if n < 0x80: return bytes([n])
                raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
                return bytes([0x80 | len(raw)]) + raw
            def flight(der):
                chain = u24(len(der) + 3) + u24(len(der)) + der
                return record(22, SERVER_HELLO + handshake(11, chain) + handshake(14, b""))
            # A certificate whose outer SEQUENCE claims 4 GiB, and one nested 3000 deep.
            ABSURD = b"\x30\x84\xff\xff\xff\xff\x30\x83\xff\xff\xff\x02\x01\x00"
            NESTED = b"\x05\x00"
            for _ in range(3000): NESTED = b"\x30" + der_length(len(NESTED)) + NESTED

            def hold(c):
                while c.recv(65536): pass

            def endless(c):
                c.sendall(GARBAGE)
                while True: c.sendall(GARBAGE[16:])

            def trickle(c):
                while True:
                    c.sendall(b"x")
                    time.sleep(1)

            def tls_record_lies(c):
                # A record that says 18432 bytes and brings 100.
                c.sendall(b"\x16\x03\x03\x48\x00" + b"\x02" * 100)
                hold(c)

            def tls_handshake_endless(c):
                # A Certificate message of 16 MiB, then full records for ever.
                c.sendall(record(22, SERVER_HELLO + b"\x0b\xff\xff\xff"))
                while True: c.sendall(record(22, b"\x30" * 16384))

            def der_absurd(c):
                c.sendall(flight(ABSURD))
                hold(c)

            def der_nested(c):
                c.sendall(flight(NESTED))
                hold(c)

            def dns_loop(c):
                data = b""
                while True:
                    chunk = c.recv(4096)
                    if not chunk: return
                    data += chunk
                    if len(data) >= 14 and struct.unpack(">H", data[:2])[0] == len(data) - 2: break
                query = data[2:]
                question = query[12:]
                at = 12 + len(question)
                # The first answer's name points at itself; the second's at a pointer back.
                answers = struct.pack(">H", 0xc000 | at) + struct.pack(">HHIH", 16, 3, 0, 4) + b"\x03abc"
                second = 12 + len(question) + len(answers)
                answers += struct.pack(">H", 0xc000 | (second + 2)) + struct.pack(">H", 0xc000 | second)
                answers += struct.pack(">HHIH", 16, 3, 0, 4) + b"\x03abc"
                reply = query[:2] + b"\x84\x00" + struct.pack(">HHHH", 1, 2, 0, 0) + question + answers
                c.sendall(struct.pack(">H", len(reply)) + reply)
                hold(c)

            def http_headers(c):
                c.recv(4096)
                c.sendall(b"HTTP/1.1 200 OK\r\nServer: endless\r\n")
                n = 0
                while True:
                    n += 1
                    c.sendall(b"X-Header-%d: %s\r\n" % (n, b"v" * 64))

            def silent(c):
                hold(c)

            def reset(c):
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

            def serve(handler):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", 0))
                s.listen(64)
                def guarded(c):
                    try: handler(c)
                    except OSError: pass
                    finally: c.close()
                def loop():
                    while True:
                        c, _ = s.accept()
                        threading.Thread(target=guarded, args=(c,), daemon=True).start()
                threading.Thread(target=loop, daemon=True).start()
                return s.getsockname()[1]

            handlers = {"endless": endless, "trickle": trickle, "tls-record-lies": tls_record_lies,
                        "tls-handshake-endless": tls_handshake_endless, "der-absurd": der_absurd,
                        "der-nested": der_nested, "dns-loop": dns_loop, "http-headers": http_headers,
                        "silent": silent, "reset": reset}
            ports = {name: serve(handler) for name, handler in handlers.items()}
            print(json.dumps({"ports": ports, "garbage": GARBAGE[:512].hex()}), flush=True)
            sys.stdin.read()
            """#

        struct Document: Decodable {
            struct Service: Decodable {
                var name: String
                var banner: String?
            }
            struct Port: Decodable {
                var port: Int
                var state: String
                var service: Service?
            }
            struct HostResult: Decodable { var ports: [Port] }
            var hosts: [HostResult]
        }

        /// `portcullis ARGS` under /usr/bin/time: the result, the wall time
        /// and the peak RSS in KiB.
        static func timedScan(_ arguments: [String]) throws -> (CommandResult, seconds: Double, maxRSSKiB: Int) {
            let started = Date()
            let result = try Subprocess.run(try #require(time), ["-f", "maxrss_kib=%M", try CLI.binary()] + arguments, timeout: 180)
            let seconds = Date().timeIntervalSince(started)
            let line = result.err.split(separator: "\n").last { $0.hasPrefix("maxrss_kib=") }
            let rss = try #require(line.flatMap { Int($0.dropFirst("maxrss_kib=".count)) }, "\(result)")
            return (result, seconds, rss)
        }

        /// The unknown-port plan runs at most six probes of at most 3 s each
        /// (greetings and last resorts 1.5 s), with a follow-up or two:
        /// every conversation ends well inside a minute, and ports are asked
        /// at once. Reading is capped at 8 KiB a probe (64 KiB for TLS), so
        /// peers that never stop sending cannot grow the process.
        static let upperBoundSeconds = Sanitizer.scaled(60)
        /// A sanitizer's shadow memory and quarantine of freed blocks make
        /// the resident size of an instrumented binary meaningless: no bound then.
        static let rssBoundKiB = Sanitizer.active == nil ? 128 * 1024 : Int.max

        @Test(
            "every hostile peer ends within the timeouts, with bounded memory and readable output",
            .enabled(if: Host.python3 != nil && time != nil, "needs python3 and /usr/bin/time"))
        func hostilePeers() throws {
            let peers = try PythonFixture(script: Self.script, name: "hostile-peers.py")
            defer { peers.stop() }
            let ports = try #require(peers.ready["ports"] as? [String: Int])
            let garbageHex = try #require(peers.ready["garbage"] as? String)
            let endless = try #require(ports["endless"])
            let list = ports.values.sorted().map(String.init).joined(separator: ",")

            let (table, tableSeconds, tableRSS) = try Self.timedScan(["scan", "-sV", "-p", list, "127.0.0.1"])
            #expect(table.status == 0 && !table.timedOut && !table.signaled, "\(table)")
            #expect(tableSeconds < Self.upperBoundSeconds, "the scan took \(tableSeconds) s")
            #expect(tableRSS < Self.rssBoundKiB, "peak RSS \(tableRSS) KiB")
            // Readable: valid UTF-8, and no control byte but the newline.
            #expect(String(validating: table.stdout, as: UTF8.self) != nil, "\(table)")
            #expect(!table.stdout.contains { ($0 < 0x20 && $0 != 0x0a) || $0 == 0x7f }, "\(table)")
            let lines = table.out.split(separator: "\n").map(String.init)
            let header = try #require(lines.first { $0.hasPrefix("PORT ") }, "\(table)")
            let versionStart = try #require(header.range(of: "VERSION")).lowerBound
            let reasonStart = try #require(header.range(of: "REASON")).lowerBound
            let columnWidth = header.distance(from: versionStart, to: reasonStart) - 2
            #expect(columnWidth <= 60, "the VERSION column is \(columnWidth) wide:\n\(table.out)")
            for name in ports.keys.sorted() where name != "reset" && name != "silent" {
                #expect(lines.contains { $0.hasPrefix("\(ports[name]!)/tcp ") && $0.contains(" open ") }, "\(name): \(table.out)")
            }
            let row = try #require(lines.first { $0.hasPrefix("\(endless)/tcp ") }, "\(table)")
            // Everything left of VERSION is ASCII: characters and scalars line up.
            let rowScalars = Array(row.unicodeScalars)
            let offset = header.distance(from: header.startIndex, to: versionStart)
            let cell = String(String.UnicodeScalarView(rowScalars[offset..<min(rowScalars.count, offset + columnWidth)]))
                .trimmingCharacters(in: .whitespaces)
            #expect(cell.hasPrefix("\\x1b[2J\\x1b]0;owned\\x07"), "\(cell)")
            #expect(cell.hasSuffix("…") && cell.unicodeScalars.count <= 60, "\(cell)")

            let (json, jsonSeconds, jsonRSS) = try Self.timedScan(["scan", "-sV", "-p", list, "--format", "json", "127.0.0.1"])
            #expect(json.status == 0 && !json.timedOut, "\(json)")
            #expect(jsonSeconds < Self.upperBoundSeconds && jsonRSS < Self.rssBoundKiB, "\(jsonSeconds) s, \(jsonRSS) KiB")
            let document = try JSONDecoder().decode(Document.self, from: Data(json.stdout))
            let port = try #require(document.hosts.first?.ports.first { $0.port == endless }, "\(json)")
            // The whole banner: the first 160 bytes of the line, escaped.
            var garbage: [UInt8] = []
            var digits = garbageHex.utf8.makeIterator()
            while let high = digits.next(), let low = digits.next() {
                garbage.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
            }
            let expected = try #require(ServiceMatch.banner(garbage))
            #expect(port.service?.banner == expected, "\(json)")
            #expect(expected.unicodeScalars.count > 160 && expected.hasPrefix(String(cell.dropLast())))
        }
    }
}
