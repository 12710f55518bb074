// What a scanned port says back: the service-detection session (greetings,
// HTTP responses, TLS, redis, memcached, MySQL, PostgreSQL, ...) driven by
// the peer's bytes, every matcher on its own, and the UDP, SNMP and MongoDB
// replies. The first byte picks the port (and so the probe plan); the rest is
// a series of chunks, each a length byte then that many bytes: length 0 is a
// timeout, 255 the peer closing.
import PortcullisCore

let ports: [UInt16] = [22, 80, 443, 6379, 11211, 3306, 5432, 21, 25, 2379, 5900, 23, 110, 143, 53, 161, 27017, 8080, 9999, 0]

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let port = ports[Int(data[0]) % ports.count]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    // The session, as the probe engine drives it.
    var session = ServiceProbeSession(
        port: port, tableName: data[0] & 0x80 == 0 ? nil : "http", hostname: "fuzz.example", now: 1_800_000_000)
    var action = session.start()
    var offset = 0
    var steps = 0
    loop: while steps < 64 {
        steps += 1
        switch action {
        case .done(let service):
            _ = service.map { "\($0)" }
            break loop
        case .step, .read:
            guard offset < stream.count else {
                action = session.next(.closed)
                continue
            }
            let length = Int(stream[offset])
            offset += 1
            if length == 0 {
                action = session.next(.timedOut)
            } else if length == 255 {
                action = session.next(.closed)
            } else {
                let end = min(offset + length, stream.count)
                action = session.next(.received(Array(stream[offset..<end])))
                offset = end
            }
        }
    }

    // Each matcher on the whole stream.
    _ = ServiceMatch.banner(stream)
    _ = ServiceMatch.identify(stream, hint: "http")
    _ = ServiceMatch.identify(stream)
    _ = ServiceMatch.ssh(stream)
    if let http = ServiceMatch.http(stream) {
        _ = ServiceMatch.httpAPI(http, response: stream, request: "GET / HTTP/1.0\r\n\r\n")
    }
    _ = ServiceMatch.httpWantsVersion(stream)
    _ = ServiceMatch.isPlainHTTPToTLSPort(stream)
    _ = ServiceMatch.lineGreeting(stream, hint: "smtp")
    _ = ServiceMatch.redis(stream)
    _ = ServiceMatch.memcached(stream)
    _ = ServiceMatch.vsftpdRefusal(stream)
    _ = ServiceMatch.mysql(stream)
    _ = ServiceMatch.postgresSSLResponse(stream)
    _ = ServiceMatch.postgresError(stream)
    _ = ServiceMatch.vnc(stream)
    _ = ServiceMatch.telnet(stream)
    _ = UDPPayloads.match(port: port, reply: stream)
    _ = try? SNMPWire.response(stream, requestID: SNMPWire.probeRequestID)
    _ = MongoWire.declaredLength(stream)
    if let document = try? MongoWire.reply(stream, requestID: MongoWire.probeRequestID) {
        _ = MongoWire.outcome(document)
    }
    return 0
}
