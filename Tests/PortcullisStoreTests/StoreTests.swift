import Testing
@testable import PortcullisStore

@Test func probe() throws { #expect(try !StoreProbe.version().isEmpty) }
