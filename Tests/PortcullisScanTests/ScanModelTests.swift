import Testing

@testable import PortcullisCore

@Suite struct ScanModelTests {
    @Test func hostIsUpOnlyWhenSomethingAnswered() {
        var host = ScanHostResult(address: IPAddress(v4: 10, 0, 0, 1))
        host.ports = [
            ScanPortResult(proto: .tcp, port: 22, state: .filtered, reason: .noResponse),
            ScanPortResult(proto: .udp, port: 53, state: .openFiltered, reason: .noResponse),
        ]
        #expect(!host.isUp)
        host.ports.append(ScanPortResult(proto: .tcp, port: 23, state: .closed, reason: .connRefused))
        #expect(host.isUp && host.count(.filtered) == 1 && host.count(.closed) == 1)
        let report = ScanReport(
            hosts: [host, ScanHostResult(address: IPAddress(v4: 10, 0, 0, 2))], startTime: 0, endTime: 1,
            durationMilliseconds: 5, arguments: ["portcullis", "scan"])
        #expect(report.hostsUp == 1 && report.count(.openFiltered) == 1)
        #expect(ScanPortState.allCases.sorted() == [.open, .closed, .filtered, .openFiltered, .unknown])
        #expect(ScanPortState.openFiltered.rawValue == "open|filtered")
    }
}

@Suite struct ScanTimingTests {
    @Test func timeoutFollowsMeasuredRoundTripsWithinBounds() {
        var timer = RoundTripTimer(initial: 1_000_000, minimum: 100_000, maximum: 2_000_000)
        #expect(timer.timeout == 1_000_000)
        timer.record(50)  // loopback: far below the floor
        #expect(timer.timeout == 100_000)
        for _ in 0..<20 { timer.record(400_000) }
        #expect(timer.timeout > 400_000 && timer.timeout < 600_000)
        timer.record(10_000_000)
        #expect(timer.timeout == 2_000_000)
    }

    /// --max-timeout below the usual 100 ms floor is still the cap.
    @Test func aMaximumBelowTheMinimumIsTheCap() {
        var timer = RoundTripTimer(initial: 1_000_000, minimum: 100_000, maximum: 10_000)
        #expect(timer.timeout == 10_000)
        timer.record(50)
        #expect(timer.timeout == 10_000)
    }

    @Test func retriesGoToTheCapOnceAnswersComeLate() {
        var allowance = RetryAllowance(maxRetries: 6)
        #expect(allowance.retries(afterAttempt: 1) && !allowance.retries(afterAttempt: 2))  // three attempts on a clean network
        allowance.answered(onAttempt: 0)
        #expect(!allowance.retries(afterAttempt: 2))
        allowance.answered(onAttempt: 1)  // a late answer: packets are being lost
        #expect(allowance.retries(afterAttempt: 5) && !allowance.retries(afterAttempt: 6))
        #expect(!RetryAllowance(maxRetries: 0).retries(afterAttempt: 0))
    }

    @Test func deadlineHeapPopsInOrder() {
        var heap = DeadlineHeap()
        for (i, d) in [50, 10, 40, 10, 30, 20].enumerated() { heap.push(.init(deadline: Int64(d), slot: Int32(i), generation: 0)) }
        var out: [Int64] = []
        while let e = heap.pop() { out.append(e.deadline) }
        #expect(out == [10, 10, 20, 30, 40, 50])
    }
}
