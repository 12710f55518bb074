import Testing
@testable import PortcullisCore

@Suite struct PolicyProbeTests {
    @Test func probe() {
        var y = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { y += "a\(i): &a\(i) [" + Array(repeating: "*a\(i-1)", count: 10).joined(separator: ", ") + "]\n" }
        y += "allow: *a9\n"
        let c = ContinuousClock()
        let t = c.measure {
            do { _ = try Policy.parse(y, file: "p.yaml") } catch { print("ERR", error) }
        }
        print("time", t)
    }
}
