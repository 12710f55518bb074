extension UInt8 {
    /// The value of this byte as an ASCII hex digit (`0`–`9`, `a`–`f`, `A`–`F`), or nil.
    var hexDigitValue: UInt8? {
        switch self {
        case 0x30...0x39: return self - 0x30
        case 0x61...0x66: return self - 0x61 + 10
        case 0x41...0x46: return self - 0x41 + 10
        default: return nil
        }
    }
}
