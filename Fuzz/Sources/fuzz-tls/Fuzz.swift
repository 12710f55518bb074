// What a TLS server sends back to the ClientHello: records of any length,
// handshake messages that span them, certificates, alerts.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch TLSServerFlight.parse(bytes) {
    case .hello(let hello, let certificates, _):
        let service = ServiceMatch.tls(hello: hello, certificates: certificates, name: "https", now: 1_800_000_000)
        _ = "\(service)"
        _ = TLSNames.version(hello.version)
        _ = TLSNames.cipherSuite(hello.cipherSuite)
    case .alert(let alert):
        _ = ServiceMatch.tls(alert: alert, name: "https")
        _ = TLSNames.alert(alert.code)
    case .incomplete, .notTLS:
        break
    }
    return 0
}
