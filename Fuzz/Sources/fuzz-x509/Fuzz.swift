// A certificate as a TLS server sends it: DER with any lengths and nesting.
// Besides X509Certificate, the DER reader walks the whole tree.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let certificate = try? X509Certificate(der: bytes) {
        _ = "\(certificate.subject) \(certificate.issuer) \(certificate.serialNumber) \(certificate.subjectAltNames)"
        _ = certificate.isSelfSigned
    }
    var reader = DERReader(bytes, field: "fuzz")
    walk(&reader, depth: 0)
    return 0
}

/// Reads every element, descending into constructed ones (to a depth the
/// stack allows), and asks each for every interpretation.
func walk(_ reader: inout DERReader, depth: Int) {
    while let element = try? reader.readAny("element") {
        _ = try? element.unsignedInteger(field: "integer")
        _ = try? element.objectIdentifier(field: "oid")
        _ = element.stringValue()
        if element.isConstructed && depth < 64 {
            var children = element.children(field: "child")
            walk(&children, depth: depth + 1)
        }
    }
}
