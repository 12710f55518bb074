import Foundation
import PortcullisCore
import PortcullisJobs
import PortcullisLinux
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The cgroup v1 `name=systemd` hierarchy: found in /proc/self/mountinfo,
/// or mounted for the test (and unmounted after it).
struct SystemdHierarchy {
    let path: String
    let mountedHere: Bool

    /// The mount point of a `cgroup` mount with `name=systemd` whose root is
    /// the hierarchy's root, from mountinfo.
    static func mounted() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, left[3] == "/", right.count >= 3, right[0] == "cgroup",
                right[2].split(separator: ",").contains("name=systemd")
            else { continue }
            return String(left[4])
        }
        return nil
    }

    static func findOrMount() throws -> SystemdHierarchy {
        if let path = mounted() { return SystemdHierarchy(path: path, mountedHere: false) }
        let directory = try TemporaryDirectory(prefix: "portcullis-cgroup")
        guard mount("cgroup", directory.path, "cgroup", 0, "none,name=systemd") == 0 else {
            let code = errno
            directory.remove()
            throw FixtureError("mount -t cgroup -o none,name=systemd: \(String(cString: strerror(code)))")
        }
        return SystemdHierarchy(path: directory.path, mountedHere: true)
    }

    func release() {
        guard mountedHere else { return }
        umount2(path, 0)
        rmdir(path)
    }
}

extension CLITests {
    /// Container attribution on the real kernel: a real process in a real
    /// cgroup named like a Docker scope, Docker's state in a temporary root.
    @Suite("Containers on the real kernel")
    struct ContainerCgroupTests {
        static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PortcullisCoreTests/Fixtures/containers")
        static let fixtureID = "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb"

        @Test(
            "a listener in system.slice/docker-<id>.scope is owned by that Docker container, named from its config.v2.json",
            .enabled(if: Host.isRoot, "needs root: it creates a cgroup and moves a process into it"),
            .enabled(if: Host.python3 != nil, "python3 is not installed: it runs the listener"))
        func dockerScopeOnTheRealKernel() throws {
            let hierarchy = try SystemdHierarchy.findOrMount()
            let id = (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
            let slice = hierarchy.path + "/system.slice"
            let createdSlice = !FileManager.default.fileExists(atPath: slice)
            let scope = slice + "/docker-\(id).scope"
            try FileManager.default.createDirectory(atPath: scope, withIntermediateDirectories: true)
            let state = try TemporaryDirectory(prefix: "portcullis-docker-root")
            var listener: PythonFixture?
            defer {
                // Out of the scope first (an empty cgroup is the only kind rmdir removes), then tidy up.
                if let pid = listener?.pid {
                    try? "\(pid)\n".write(toFile: hierarchy.path + "/cgroup.procs", atomically: false, encoding: .utf8)
                }
                listener?.stop()
                rmdir(scope)
                if createdSlice { rmdir(slice) }
                hierarchy.release()
                state.remove()
            }

            let started = try PythonFixture(script: simpleListenerScript, name: "container_listener.py")
            listener = started
            let port = try #require(started.int("tcp"))
            try "\(started.pid)\n".write(toFile: scope + "/cgroup.procs", atomically: false, encoding: .utf8)
            let cgroup = try String(contentsOfFile: "/proc/\(started.pid)/cgroup", encoding: .utf8)
            #expect(cgroup.contains("name=systemd:/system.slice/docker-\(id).scope"), "the kernel shows: \(cgroup)")

            // Docker's state for this id, in the shape dockerd writes.
            let config = try String(contentsOf: Self.fixtures.appendingPathComponent("docker-config.v2.json"), encoding: .utf8)
                .replacingOccurrences(of: Self.fixtureID, with: id)
                .replacingOccurrences(of: "\"Name\":\"/web\"", with: "\"Name\":\"/portcullis-test-web\"")
            let containerDirectory = state.url.appendingPathComponent("containers/\(id)")
            try FileManager.default.createDirectory(at: containerDirectory, withIntermediateDirectories: true)
            try Data(config.utf8).write(to: containerDirectory.appendingPathComponent("config.v2.json"))

            var filter = SocketFilter()
            filter.ports = try PortSpec(parsing: "\(port)")
            filter.pids = [started.pid]
            let source = HostSource(
                containerState: ContainerStateRoots(docker: state.path, podman: state.path + "/none", podsLog: state.path + "/none"))
            let report = try InventoryJob.run(InventoryJob.Options(source: source, query: SocketQuery(protocols: [.tcp]), filter: filter))
            let entry = try #require(report.entries.first { $0.socket.localPort == UInt16(port) }, "the listener on \(port) was not listed")
            let owner = try #require(entry.owners.first { $0.pid == started.pid })
            #expect(owner.container == id)
            let reference = try #require(owner.containerReference)
            #expect(reference.runtime == .docker && reference.id == id)
            #expect(reference.name == "portcullis-test-web" && reference.image == "nginx:1.27")
            #expect(owner.unit == "docker-\(id).scope")
            #expect(!report.diagnostics.contains { $0.message.contains(id) }, "\(report.diagnostics)")
        }
    }
}
