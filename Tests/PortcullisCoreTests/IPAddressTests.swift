import Testing

@testable import PortcullisCore

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("::", "::"), ("::1", "::1"), ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // a single zero group is not compressed
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // the longest run wins
        ("fe80::1:2", "fe80::1:2"), ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"), ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"),
    ])
    func formatsAsRFC5952(input: String, expected: String) throws {
        let address = try #require(IPAddress(parsing: input))
        #expect(address.description == expected)
    }

    @Test(arguments: [
        "127.1", "0x7f.0.0.1", "010.0.0.1", "256.0.0.1", "1.2.3", "1.2.3.4.5", "1::2::3", "12345::", ":::", "", "a.b.c.d", "1.2.3.-4",
    ])
    func rejectsSloppyText(input: String) {
        #expect(IPAddress(parsing: input) == nil)
    }

    @Test func mappedLoopbackIsLoopback() throws {
        let mapped = try #require(IPAddress(parsing: "::ffff:127.0.0.1"))
        #expect(mapped.isIPv4Mapped)
        #expect(mapped.isLoopback)
        #expect(mapped.normalized == IPAddress(v4: 127, 0, 0, 1))
        let mappedPublic = try #require(IPAddress(parsing: "::ffff:192.0.2.1"))
        #expect(!mappedPublic.isLoopback)
    }

    @Test func classifiesScopes() throws {
        #expect(try #require(IPAddress(parsing: "127.255.0.9")).isLoopback)
        #expect(!(try #require(IPAddress(parsing: "::2")).isLoopback))
        #expect(try #require(IPAddress(parsing: "fe80::1")).isLinkLocal)
        #expect(try #require(IPAddress(parsing: "febf::1")).isLinkLocal)
        #expect(!(try #require(IPAddress(parsing: "fec0::1")).isLinkLocal))
        #expect(try #require(IPAddress(parsing: "169.254.3.4")).isLinkLocal)
        #expect(try #require(IPAddress(parsing: "224.0.0.251")).isMulticast)
        #expect(try #require(IPAddress(parsing: "ff02::fb")).isMulticast)
        #expect(IPAddress.anyV6.isUnspecified && IPAddress.anyV4.isUnspecified)
    }

    @Test func bytesRoundTrip() throws {
        let address = try #require(IPAddress(parsing: "2001:db8:1:2:3:4:5:6"))
        #expect(IPAddress(bytes: address.bytes) == address)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress(v4: 10, 1, 2, 3).bytes == [10, 1, 2, 3])
    }

    @Test func ordersIPv4BeforeIPv6ThenNumerically() throws {
        let a = IPAddress(v4: 10, 0, 0, 2)
        let b = IPAddress(v4: 9, 255, 0, 0)
        #expect(b < a)
        #expect(a < IPAddress.anyV6)
    }
}

@Suite struct ExposureAndClassTests {
    @Test(arguments: [
        ("127.0.0.1", nil as Bool?, Exposure.loopback),
        ("::1", true, .loopback),
        ("::ffff:127.0.0.1", false, .loopback),
        ("0.0.0.0", nil, .allInterfacesIPv4),
        ("::", true, .allInterfacesIPv6),
        ("::", false, .allInterfacesDualStack),
        ("::", nil, .allInterfacesDualStack),  // unknown is judged the wider way
        ("fe80::1", true, .linkLocal),
        ("192.0.2.10", nil, .specificAddress),
        ("::ffff:192.0.2.10", false, .specificAddress),
    ])
    func exposure(address: String, v6only: Bool?, expected: Exposure) throws {
        #expect(Exposure(localAddress: try #require(IPAddress(parsing: address)), v6only: v6only) == expected)
    }

    @Test func boundToTheLoopbackDeviceIsLoopback() {
        #expect(Exposure(localAddress: .anyV4, v6only: nil, interfaceIndex: 1) == .loopback)
        #expect(Exposure(localAddress: .anyV4, v6only: nil, interfaceIndex: 2) == .allInterfacesIPv4)
    }

    @Test func portClassBoundaries() {
        #expect(PortClass(port: 0) == .system)
        #expect(PortClass(port: 1023) == .system)
        #expect(PortClass(port: 1024) == .registered)
        #expect(PortClass(port: 49151) == .registered)
        #expect(PortClass(port: 49152) == .dynamic)
        #expect(PortClass(port: 65535) == .dynamic)
    }
}
