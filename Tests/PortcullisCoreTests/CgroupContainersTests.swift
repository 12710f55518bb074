import Testing

@testable import PortcullisCore

/// Ids and uids used in the cgroup layouts below.
enum ContainerIDs {
    static let a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    static let b = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
    static let podUID = "6d1e1f4a-3b2c-4d5e-8f90-123456789abc"
    /// The systemd driver writes the uid with `_` for `-`.
    static let podUIDSystemd = "6d1e1f4a_3b2c_4d5e_8f90_123456789abc"
    /// A static pod's uid: the hash of its manifest, 32 hex digits.
    static let staticPodUID = "0123456789abcdef0123456789abcdef"
}

/// One cgroup layout: /proc/PID/cgroup as the kernel writes it, and what it must give.
struct CgroupCase: CustomTestStringConvertible, Sendable {
    var label: String
    var text: String
    var runtime: ContainerRuntime?
    var id: String? = nil
    var name: String? = nil
    var pod: String? = nil
    var rootless: UInt32? = nil
    var testDescription: String { label }
}

@Suite struct CgroupContainersTests {
    static let a = ContainerIDs.a
    static let b = ContainerIDs.b
    static let uid = ContainerIDs.podUID
    static let uidSystemd = ContainerIDs.podUIDSystemd

    static let cases: [CgroupCase] = [
        // Docker
        CgroupCase(label: "docker systemd v2", text: "0::/system.slice/docker-\(a).scope\n", runtime: .docker, id: a),
        CgroupCase(
            label: "docker systemd v1", text: "5:pids:/system.slice/docker-\(a).scope\n1:name=systemd:/system.slice/docker-\(a).scope\n",
            runtime: .docker, id: a),
        CgroupCase(
            label: "docker cgroupfs v1",
            text: "12:pids:/docker/\(a)\n4:cpu,cpuacct:/docker/\(a)\n1:name=systemd:/docker/\(a)\n", runtime: .docker, id: a),
        CgroupCase(label: "docker cgroupfs v2", text: "0::/docker/\(a)\n", runtime: .docker, id: a),
        CgroupCase(
            label: "docker only in a v1 controller", text: "4:cpu,cpuacct:/docker/\(a)\n1:name=systemd:/\n0::/\n", runtime: .docker,
            id: a),
        CgroupCase(
            label: "docker in docker: the inner one", text: "0::/system.slice/docker-\(a).scope/docker/\(b)\n", runtime: .docker, id: b),
        CgroupCase(
            label: "rootless docker",
            text: "0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-\(a).scope\n", runtime: .docker, id: a,
            rootless: 1000),
        // Podman
        CgroupCase(label: "podman systemd", text: "0::/machine.slice/libpod-\(a).scope\n", runtime: .podman, id: a),
        CgroupCase(label: "podman systemd /container", text: "0::/machine.slice/libpod-\(a).scope/container\n", runtime: .podman, id: a),
        CgroupCase(label: "podman cgroupfs", text: "0::/libpod_parent/libpod-\(a)\n", runtime: .podman, id: a),
        CgroupCase(
            label: "podman v1", text: "10:memory:/machine.slice/libpod-\(a).scope\n1:name=systemd:/machine.slice/libpod-\(a).scope\n",
            runtime: .podman, id: a),
        CgroupCase(
            label: "podman pod", text: "0::/machine.slice/machine-libpod_pod_\(b).slice/libpod-\(a).scope/container\n", runtime: .podman,
            id: a),
        CgroupCase(
            label: "rootless podman",
            text: "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(a).scope/container\n", runtime: .podman, id: a,
            rootless: 1000),
        CgroupCase(label: "podman conmon is not the container", text: "0::/machine.slice/libpod-conmon-\(a).scope\n", runtime: nil),
        CgroupCase(label: "podman conmon cgroupfs", text: "0::/libpod_parent/libpod-conmon-\(a)\n", runtime: nil),
        CgroupCase(
            label: "rootless podman conmon",
            text: "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-\(a).scope\n", runtime: nil),
        // containerd / CRI and Kubernetes
        CgroupCase(
            label: "containerd systemd in a burstable pod",
            text:
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uidSystemd).slice/cri-containerd-\(a).scope\n",
            runtime: .containerd, id: a, pod: uid),
        CgroupCase(
            label: "containerd systemd in a guaranteed pod",
            text: "0::/kubepods.slice/kubepods-pod\(uidSystemd).slice/cri-containerd-\(a).scope\n", runtime: .containerd, id: a, pod: uid),
        CgroupCase(
            label: "containerd v1 systemd",
            text:
                "11:devices:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidSystemd).slice/cri-containerd-\(a).scope\n"
                + "1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidSystemd).slice/cri-containerd-\(a).scope\n",
            runtime: .containerd, id: a, pod: uid),
        CgroupCase(
            label: "kubernetes cgroupfs v1",
            text: "11:memory:/kubepods/burstable/pod\(uid)/\(a)\n1:name=systemd:/kubepods/burstable/pod\(uid)/\(a)\n",
            runtime: .cri, id: a, pod: uid),
        CgroupCase(label: "kubernetes cgroupfs v2 guaranteed", text: "0::/kubepods/pod\(uid)/\(a)\n", runtime: .cri, id: a, pod: uid),
        CgroupCase(
            label: "kubernetes static pod", text: "0::/kubepods/besteffort/pod\(ContainerIDs.staticPodUID)/\(a)\n", runtime: .cri, id: a,
            pod: ContainerIDs.staticPodUID),
        CgroupCase(
            label: "kubelet --cgroup-root",
            text: "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod\(uidSystemd).slice/cri-containerd-\(a).scope\n",
            runtime: .containerd, id: a, pod: uid),
        CgroupCase(
            label: "docker in a pod (cri-dockerd)", text: "0::/kubepods.slice/kubepods-pod\(uidSystemd).slice/docker-\(a).scope\n",
            runtime: .docker,
            id: a, pod: uid),
        CgroupCase(label: "nerdctl", text: "0::/system.slice/nerdctl-\(a).scope\n", runtime: .containerd, id: a),
        // CRI-O
        CgroupCase(
            label: "cri-o systemd",
            text: "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidSystemd).slice/crio-\(a).scope\n",
            runtime: .crio, id: a, pod: uid),
        CgroupCase(label: "cri-o cgroupfs", text: "0::/kubepods/besteffort/pod\(uid)/crio-\(a)\n", runtime: .crio, id: a, pod: uid),
        CgroupCase(
            label: "cri-o conmon is not the container",
            text: "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uidSystemd).slice/crio-conmon-\(a).scope\n",
            runtime: nil),
        CgroupCase(label: "cri-o conmon cgroupfs", text: "0::/kubepods/besteffort/pod\(uid)/crio-conmon-\(a)\n", runtime: nil),
        // LXC
        CgroupCase(label: "lxc payload", text: "0::/lxc.payload.web1/system.slice/nginx.service\n", runtime: .lxc, name: "web1"),
        CgroupCase(label: "lxc payload dir", text: "0::/lxc.payload/web1/init.scope\n", runtime: .lxc, name: "web1"),
        CgroupCase(label: "lxc v1", text: "3:cpuset:/lxc/web1\n1:name=systemd:/lxc/web1\n", runtime: .lxc, name: "web1"),
        CgroupCase(label: "lxc monitor", text: "0::/lxc.monitor.web1\n", runtime: nil),
        CgroupCase(label: "lxc monitor dir", text: "0::/lxc.monitor/web1\n", runtime: nil),
        CgroupCase(
            label: "unprivileged lxc", text: "0::/user.slice/user-1000.slice/user@1000.service/lxc.payload.dev\n", runtime: .lxc,
            name: "dev",
            rootless: 1000),
        CgroupCase(
            label: "docker inside lxc: the inner one", text: "0::/lxc.payload.host1/system.slice/docker-\(a).scope\n", runtime: .docker,
            id: a),
        // systemd-nspawn
        CgroupCase(
            label: "nspawn payload, escaped name", text: "0::/machine.slice/machine-web\\x2d1.scope/payload/system.slice/nginx.service\n",
            runtime: .nspawn, name: "web-1"),
        CgroupCase(label: "nspawn v1", text: "1:name=systemd:/machine.slice/machine-db.scope\n", runtime: .nspawn, name: "db"),
        CgroupCase(label: "nspawn supervisor", text: "0::/machine.slice/machine-web\\x2d1.scope/supervisor\n", runtime: nil),
        CgroupCase(
            label: "libvirt VM is not a container", text: "0::/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt/emulator\n",
            runtime: nil),
        // Others
        CgroupCase(label: "unknown layout with an id", text: "0::/ecs/task-1/\(a)\n", runtime: .unknown, id: a),
        CgroupCase(label: "unknown scope with an id", text: "0::/system.slice/garden-\(a).scope\n", runtime: .unknown, id: a),
        CgroupCase(label: "unknown conmon", text: "0::/system.slice/other-conmon-\(a).scope\n", runtime: nil),
        CgroupCase(label: "a service", text: "0::/system.slice/ssh.service\n", runtime: nil),
        CgroupCase(label: "a user session", text: "0::/user.slice/user-1000.slice/session-3.scope\n", runtime: nil),
        CgroupCase(label: "the root", text: "0::/\n", runtime: nil),
        CgroupCase(label: "short hex is not an id", text: "0::/docker/0123456789ab\n", runtime: nil),
        CgroupCase(label: "non-hex is not an id", text: "0::/docker/\(String(repeating: "g", count: 64))\n", runtime: nil),
        CgroupCase(label: "empty", text: "", runtime: nil),
    ]

    @Test(arguments: cases) func layout(_ c: CgroupCase) {
        let info = ProcessFiles.parseCgroup(Array(c.text.utf8))
        let reference = info.containerReference
        #expect(reference?.runtime == c.runtime)
        guard c.runtime != nil else {
            #expect(info.container == nil)
            return
        }
        #expect(reference?.id == c.id)
        #expect(info.container == c.id)
        #expect(reference?.name == c.name)
        #expect(reference?.pod?.uid == c.pod)
        #expect(reference?.rootlessUID == c.rootless)
        #expect(reference?.image == nil && reference?.publishedPorts == [])
    }

    @Test func hybridHostTakesTheUnitFromTheSystemdHierarchy() {
        // No systemd on the unified hierarchy: its path is "/" while name=systemd has the scope.
        let info = ProcessFiles.parseCgroup(Array("9:name=systemd:/system.slice/docker-\(Self.a).scope\n4:memory:/x\n0::/\n".utf8))
        #expect(info.unit == "docker-\(Self.a).scope")
        #expect(info.path == "/system.slice/docker-\(Self.a).scope")
        #expect(info.containerReference?.runtime == .docker)
        // A real v2 path still wins.
        let v2 = ProcessFiles.parseCgroup(Array("1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n".utf8))
        #expect(v2.unit == "b.service")
    }

    @Test func systemdEscapes() {
        #expect(CgroupContainers.systemdUnescape(Array("web\\x2d1".utf8)) == Array("web-1".utf8))
        #expect(CgroupContainers.systemdUnescape(Array("a\\x2fb\\x20c".utf8)) == Array("a/b c".utf8))
        // Malformed escapes are kept as written.
        #expect(CgroupContainers.systemdUnescape(Array("a\\x2".utf8)) == Array("a\\x2".utf8))
        #expect(CgroupContainers.systemdUnescape(Array("a\\xzz\\".utf8)) == Array("a\\xzz\\".utf8))
        // A decoded control character is escaped in the name shown.
        let hostile = CgroupContainers.reference(path: Array("/machine.slice/machine-evil\\x1b[31m\\x0a.scope".utf8))
        #expect(hostile?.name == "evil\\x1b[31m\\n")
    }

    @Test func hostileInputNeverCrashes() {
        let a = Self.a
        // A huge path: many components before the container, many after it.
        let deep = String(repeating: "x/", count: 50_000) + "docker-\(a).scope/" + String(repeating: "y/", count: 50_000)
        let huge = ProcessFiles.parseCgroup(Array("0::/\(deep)\n".utf8))
        #expect(huge.containerReference?.runtime == .docker && huge.container == a)
        // Many id-like components: linear, the innermost wins.
        let ids = String(repeating: "/\(Self.b)", count: 20_000) + "/\(a)"
        #expect(CgroupContainers.reference(path: Array(ids.utf8))?.id == a)
        // A NUL in the path: shown escaped, and no container read from the broken component.
        let nul = ProcessFiles.parseCgroup(Array("0::/system.slice/docker-\(a).scope\0\n".utf8))
        #expect(nul.path == "/system.slice/docker-\(a).scope\\x00")
        #expect(nul.containerReference == nil)
        // Invalid UTF-8 in a name: escaped byte by byte.
        var bytes = Array("0::/lxc.payload.".utf8)
        bytes += [0xff, 0xfe, 0x41]
        bytes += Array("/init.scope\n".utf8)
        let invalid = ProcessFiles.parseCgroup(bytes)
        #expect(invalid.containerReference?.name == "\\xff\\xfeA")
        #expect(invalid.path == "/lxc.payload.\\xff\\xfeA/init.scope")
        // Lines of the wrong shape are skipped.
        for text in ["garbage\n", ":\n", "::\n", "0:\n", "0::", "\n\n\n", "::::::\n", "0::\\x2d\n", "1:name=systemd\n"] {
            _ = ProcessFiles.parseCgroup(Array(text.utf8))
        }
        // A slice with "kubepods" and "-pod" but no valid uid.
        #expect(CgroupContainers.reference(path: Array("/kubepods-podxyz.slice/cri-containerd-\(a).scope".utf8))?.pod == nil)
        #expect(CgroupContainers.reference(path: Array("/kubepods/pod/\(a)".utf8))?.pod == nil)
        // user@ with a uid too large for 32 bits is not a delegation.
        #expect(
            CgroupContainers.reference(path: Array("/user@99999999999.service/libpod-\(a).scope".utf8))?.rootlessUID == nil)
    }

    @Test func randomBytesNeverCrash() {
        var generator = SplitMix(seed: 0x5eed)
        let alphabet = Array("/-_.:@\\x0123456789abcdefkubepodslibpodcrioconmonlxcpayloadmachinescopeslice\n\0".utf8) + [0xff, 0xc3, 0x80]
        for _ in 0..<2_000 {
            let count = Int(generator.next() % 300)
            var bytes: [UInt8] = []
            for _ in 0..<count { bytes.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            let info = ProcessFiles.parseCgroup(bytes)
            if let id = info.container { #expect(CgroupContainers.isContainerID(ArraySlice(id.utf8))) }
        }
    }
}

/// A small deterministic generator for the fuzz loop.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
