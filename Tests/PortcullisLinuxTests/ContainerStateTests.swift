import Foundation
import Testing

@testable import PortcullisCore
@testable import PortcullisLinux

/// A copied /proc whose processes run in every container layout, beside
/// the runtimes' state in a temporary directory laid out as on a host:
/// Docker's data root, a containers/storage root, the kubelet's log
/// directories, and a rootless user's home with its own store.
final class ContainerFixture {
    static let dockerID = "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb"
    static let podmanID = "f9d688036191e04636c64024ce221730446495d6568b72e14d6ebc8aa23e434f"
    static let crioID = "9689413a5a09c74fc99b598f6c28096cc8a94018930db76b0a230d72259fa57b"
    /// A Docker container whose state is gone: shown by id.
    static let staleID = String(repeating: "5", count: 64)
    static let containerdID = String(repeating: "c", count: 64)
    static let criID = String(repeating: "d", count: 64)
    static let podUID = "6d1e1f4a-3b2c-4d5e-8f90-123456789abc"
    static let podUIDSystemd = "6d1e1f4a_3b2c_4d5e_8f90_123456789abc"
    static let otherPodUID = "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9"

    let tree: FakeProcTree
    let state: URL

    var roots: ContainerStateRoots {
        ContainerStateRoots(
            docker: state.appendingPathComponent("lib/docker").path, podman: state.appendingPathComponent("lib/containers/storage").path,
            podsLog: state.appendingPathComponent("log/pods").path)
    }
    var etcRoot: String { state.path + "/" }
    var aliceStore: URL { state.appendingPathComponent("home/alice/.local/share/containers/storage/overlay-containers") }

    /// Port → the cgroup file of the process holding the listener on it.
    static let layouts: [(pid: Int, inode: UInt64, port: UInt16, cgroup: String)] = [
        (5001, 623986, 24003, "0::/system.slice/docker-\(dockerID).scope\n"),
        (5002, 623987, 24004, "12:pids:/docker/\(staleID)\n4:cpu,cpuacct:/docker/\(staleID)\n1:name=systemd:/docker/\(staleID)\n"),
        (5003, 623988, 24005, "0::/machine.slice/libpod-\(podmanID).scope/container\n"),
        (5004, 623992, 24007, "0::/machine.slice/libpod-conmon-\(podmanID).scope\n"),
        (
            5005, 623995, 24010,
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(podUIDSystemd).slice/cri-containerd-\(containerdID).scope\n"
        ),
        (
            5006, 623996, 24011,
            "10:memory:/kubepods/besteffort/pod\(otherPodUID)/\(criID)\n1:name=systemd:/kubepods/besteffort/pod\(otherPodUID)/\(criID)\n"
        ),
        (
            5007, 623997, 24012,
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(podUIDSystemd).slice/crio-\(crioID).scope\n"
        ),
        (5008, 623998, 24013, "0::/lxc.payload.web1/system.slice/nginx.service\n"),
        (5009, 624000, 24015, "0::/machine.slice/machine-web\\x2d1.scope/payload/system.slice/nginx.service\n"),
        (5010, 624001, 1, "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(podmanID).scope/container\n"),
        (5011, 624002, 58, "0::/lxc.monitor.web1\n"),
    ]

    init() throws {
        tree = try FakeProcTree()
        state = FileManager.default.temporaryDirectory.appendingPathComponent("portcullis-state-\(UUID().uuidString)")
        for layout in Self.layouts {
            try tree.process(layout.pid, ppid: 1, name: "srv\(layout.pid)", sockets: [3: layout.inode])
            try tree.write("\(layout.pid)/cgroup", layout.cgroup)
        }
        // Docker: config.v2.json and hostconfig.json of one container.
        let docker = "lib/docker/containers/\(Self.dockerID)/"
        try copy("containers/docker-config.v2.json", to: docker + "config.v2.json")
        try copy("containers/docker-hostconfig.json", to: docker + "hostconfig.json")
        try FileManager.default.createDirectory(
            at: state.appendingPathComponent("lib/docker/containers/\(String(repeating: "e", count: 64))"),
            withIntermediateDirectories: true)
        // containers/storage: Podman's containers.json, CRI-O's volatile-containers.json.
        try copy("containers/podman-containers.json", to: "lib/containers/storage/overlay-containers/containers.json")
        try copy("containers/crio-volatile-containers.json", to: "lib/containers/storage/overlay-containers/volatile-containers.json")
        // The kubelet: a pod with two containers (named by their log links), and one with one container.
        try write("log/pods/default_web-7d4b9c-x2x9q_\(Self.podUID)/nginx/0.log", "")
        try write("log/pods/default_web-7d4b9c-x2x9q_\(Self.podUID)/metrics/0.log", "")
        try write("log/pods/kube-system_coredns-5d78c9869d-abcde_\(Self.otherPodUID)/coredns/0.log", "")
        try FileManager.default.createDirectory(at: state.appendingPathComponent("log/containers"), withIntermediateDirectories: true)
        for (container, id) in [("metrics", Self.containerdID), ("nginx", Self.crioID)] {
            try FileManager.default.createSymbolicLink(
                atPath: state.appendingPathComponent("log/containers/web-7d4b9c-x2x9q_default_\(container)-\(id).log").path,
                withDestinationPath: "/var/log/pods/default_web-7d4b9c-x2x9q_\(Self.podUID)/\(container)/0.log")
        }
        // A rootless user with a store of its own, naming the same id differently.
        try write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:\(state.path)/home/alice:/bin/bash\n")
        let podman = String(decoding: try LinuxFixtures.bytes("containers/podman-containers.json"), as: UTF8.self)
        try write(
            "home/alice/.local/share/containers/storage/overlay-containers/containers.json",
            podman.replacingOccurrences(of: "\"names\":[\"web\"]", with: "\"names\":[\"alice-web\"]"))
    }

    deinit { try? FileManager.default.removeItem(at: state) }

    func write(_ path: String, _ text: String) throws {
        let url = state.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func copy(_ fixture: String, to path: String) throws {
        try write(path, String(decoding: try LinuxFixtures.bytes(fixture), as: UTF8.self))
    }

    func collect(containerState: ContainerStateRoots?) throws -> Inventory {
        var options = InventoryCollector.Options()
        options.procRoot = tree.root.path
        options.source = .procfs
        options.etcRoot = etcRoot
        options.containerState = containerState
        var collector = InventoryCollector(options: options)
        return try collector.collect()
    }
}

@Suite struct ContainerStateTests {
    func owner(_ inventory: Inventory, _ pid: Int32) throws -> SocketOwner {
        try #require(inventory.entries.flatMap(\.owners).first { $0.pid == pid })
    }

    @Test func everyLayoutThroughTheResolver() throws {
        let fixture = try ContainerFixture()
        let inventory = try fixture.collect(containerState: fixture.roots)

        let docker = try owner(inventory, 5001)
        #expect(docker.container == ContainerFixture.dockerID)
        let dockerRef = try #require(docker.containerReference)
        #expect(dockerRef.runtime == .docker && dockerRef.id == ContainerFixture.dockerID)
        #expect(dockerRef.name == "web" && dockerRef.image == "nginx:1.27")
        #expect(dockerRef.publishedPorts.map(\.hostPorts) == [8080...8080, 8080...8080])
        #expect(dockerRef.publishedPorts.map(\.hostAddress) == ["0.0.0.0", "::"])
        #expect(dockerRef.pod == nil && dockerRef.rootlessUID == nil)

        // No state for this id: the id stays, a notice says why there is no name.
        let stale = try owner(inventory, 5002)
        #expect(stale.container == ContainerFixture.staleID)
        #expect(stale.containerReference == ContainerReference(runtime: .docker, id: ContainerFixture.staleID))
        #expect(
            inventory.diagnostics.contains {
                $0.severity == .notice && $0.message.contains("containers/\(ContainerFixture.staleID)/config.v2.json")
                    && $0.message.contains("No such file") && $0.message.contains("shown by id")
            })

        let podman = try #require(try owner(inventory, 5003).containerReference)
        #expect(podman.runtime == .podman && podman.id == ContainerFixture.podmanID)
        #expect(podman.name == "web" && podman.image == "docker.io/library/nginx:latest")

        // conmon is the monitor, on the host: no container.
        let conmon = try owner(inventory, 5004)
        #expect(conmon.container == nil && conmon.containerReference == nil)

        // containerd in a pod: namespace and name from /var/log/pods, the container's name from its log link.
        let containerd = try #require(try owner(inventory, 5005).containerReference)
        #expect(containerd.runtime == .containerd && containerd.id == ContainerFixture.containerdID)
        #expect(containerd.pod == PodReference(uid: ContainerFixture.podUID, namespace: "default", name: "web-7d4b9c-x2x9q"))
        #expect(containerd.name == "metrics" && containerd.image == nil)

        // cgroupfs Kubernetes: runtime unnamed; the pod's only container directory names it.
        let cri = try #require(try owner(inventory, 5006).containerReference)
        #expect(cri.runtime == .cri && cri.id == ContainerFixture.criID)
        #expect(cri.pod == PodReference(uid: ContainerFixture.otherPodUID, namespace: "kube-system", name: "coredns-5d78c9869d-abcde"))
        #expect(cri.name == "coredns")

        // CRI-O: name and image from containers/storage, the pod from the kubelet.
        let crio = try #require(try owner(inventory, 5007).containerReference)
        #expect(crio.runtime == .crio && crio.name == "nginx" && crio.image == "docker.io/library/nginx:1.27")
        #expect(crio.pod?.name == "web-7d4b9c-x2x9q" && crio.pod?.namespace == "default")

        // LXC and nspawn: the name is in the path.
        #expect(try owner(inventory, 5008).containerReference == ContainerReference(runtime: .lxc, name: "web1"))
        #expect(try owner(inventory, 5009).containerReference == ContainerReference(runtime: .nspawn, name: "web-1"))
        #expect(try owner(inventory, 5008).container == nil)

        // Rootless Podman: named from the user's own store, not the system one.
        let rootless = try #require(try owner(inventory, 5010).containerReference)
        #expect(rootless.runtime == .podman && rootless.rootlessUID == 1000 && rootless.name == "alice-web")

        #expect(try owner(inventory, 5011).containerReference == nil)
        // Each problem said once.
        #expect(Set(inventory.diagnostics.map(\.message)).count == inventory.diagnostics.count)
    }

    @Test func withoutStateRootsOnlyThePathSpeaks() throws {
        let fixture = try ContainerFixture()
        let inventory = try fixture.collect(containerState: nil)
        #expect(try owner(inventory, 5001).containerReference == ContainerReference(runtime: .docker, id: ContainerFixture.dockerID))
        #expect(
            try owner(inventory, 5005).containerReference?.pod == PodReference(uid: ContainerFixture.podUID))
        #expect(try owner(inventory, 5009).containerReference?.name == "web-1")
        #expect(!inventory.diagnostics.contains { $0.message.contains("container") })
    }

    @Test func missingRootsAreNoticesNotErrors() throws {
        let fixture = try ContainerFixture()
        let nowhere = fixture.state.appendingPathComponent("nowhere").path
        let inventory = try fixture.collect(
            containerState: ContainerStateRoots(docker: nowhere + "/docker", podman: nowhere + "/storage", podsLog: nowhere + "/pods"))
        let docker = try owner(inventory, 5001)
        #expect(docker.containerReference == ContainerReference(runtime: .docker, id: ContainerFixture.dockerID))
        #expect(try owner(inventory, 5003).containerReference?.id == ContainerFixture.podmanID)
        #expect(try owner(inventory, 5005).containerReference?.pod?.uid == ContainerFixture.podUID)
        let messages = inventory.diagnostics.map(\.message)
        #expect(messages.contains { $0.contains("no containers.json under \(nowhere)/storage") })
        #expect(messages.contains { $0.contains("\(nowhere)/pods does not exist") })
        #expect(inventory.diagnostics.allSatisfy { $0.severity == .notice || !$0.message.contains(nowhere) })
    }

    @Test func untrustedStateIsNotRead() throws {
        let fixture = try ContainerFixture()
        // A FIFO where a file should be: never blocks, never read.
        let config = fixture.state.appendingPathComponent("lib/docker/containers/\(ContainerFixture.dockerID)/config.v2.json")
        try FileManager.default.removeItem(at: config)
        #expect(mkfifo(config.path, 0o600) == 0)
        // A symlink in the last component: not followed.
        let store = fixture.state.appendingPathComponent("lib/containers/storage/overlay-containers/containers.json")
        try FileManager.default.removeItem(at: store)
        try FileManager.default.createSymbolicLink(atPath: store.path, withDestinationPath: "/etc/passwd")
        // The rootless store owned by someone else (only root can arrange that).
        let isRoot = geteuid() == 0
        if isRoot { #expect(chown(fixture.aliceStore.appendingPathComponent("containers.json").path, 4242, 4242) == 0) }

        let inventory = try fixture.collect(containerState: fixture.roots)
        #expect(try owner(inventory, 5001).containerReference == ContainerReference(runtime: .docker, id: ContainerFixture.dockerID))
        #expect(try owner(inventory, 5003).containerReference?.name == nil)
        let messages = inventory.diagnostics.map(\.message)
        #expect(messages.contains { $0.contains("config.v2.json is not a regular file") })
        #expect(messages.contains { $0.contains("cannot read") && $0.contains("overlay-containers/containers.json") })
        if isRoot {
            #expect(try owner(inventory, 5010).containerReference?.name == nil)
            #expect(messages.contains { $0.contains("owned by uid 4242, not root or uid 1000") })
        }
    }

    @Test func eachStateFileIsReadOnce() throws {
        let fixture = try ContainerFixture()
        let reader = ContainerStateReader(roots: fixture.roots, etcRoot: fixture.etcRoot)
        let reference = ContainerReference(runtime: .docker, id: ContainerFixture.dockerID)
        #expect(reader.resolve(reference).name == "web")
        // The file changes underneath: the reader keeps what it read.
        try fixture.write("lib/docker/containers/\(ContainerFixture.dockerID)/config.v2.json", "{\"Name\":\"/renamed\"}")
        #expect(reader.resolve(reference).name == "web")
        // Another reference to the same container (a name from elsewhere): the file is not read again.
        let other = ContainerReference(runtime: .docker, id: ContainerFixture.dockerID, name: "from-path")
        #expect(reader.resolve(other).name == "web")
        // A new reader (the next collection) reads it again.
        #expect(ContainerStateReader(roots: fixture.roots, etcRoot: fixture.etcRoot).resolve(reference).name == "renamed")
        // A Kubernetes container of unnamed runtime that Docker's state knows is Docker's (cri-dockerd).
        try fixture.copy(
            "containers/docker-config.v2.json", to: "lib/docker/containers/\(String(repeating: "e", count: 64))/config.v2.json")
        let criDocker = reader.resolve(ContainerReference(runtime: .cri, id: String(repeating: "e", count: 64)))
        #expect(criDocker.runtime == .docker && criDocker.name == "web")
        #expect(reader.resolve(ContainerReference(runtime: .cri, id: String(repeating: "7", count: 64))).runtime == .cri)
        #expect(reader.takeDiagnostics().isEmpty)
    }

    @Test func rootlessUserWithoutAHome() throws {
        let fixture = try ContainerFixture()
        let reader = ContainerStateReader(roots: fixture.roots, etcRoot: fixture.etcRoot)
        let resolved = reader.resolve(ContainerReference(runtime: .docker, id: ContainerFixture.dockerID, rootlessUID: 2000))
        #expect(resolved.name == nil && resolved.id == ContainerFixture.dockerID)
        #expect(
            reader.takeDiagnostics().map(\.message) == [
                "rootless (uid 2000) docker container f31f384749f9: uid 2000 has no home directory in \(fixture.etcRoot)etc/passwd; shown by id"
            ])
    }
}
