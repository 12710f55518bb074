import Testing

@testable import PortcullisCore

/// The container state files, in the shapes the runtimes write them
/// (Fixtures/containers: a Docker 25 `config.v2.json` and `hostconfig.json`,
/// a Podman 5 `containers.json`, a CRI-O `volatile-containers.json`).
@Suite struct ContainerStateFilesTests {
    static let dockerID = "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb"
    static let podmanID = "f9d688036191e04636c64024ce221730446495d6568b72e14d6ebc8aa23e434f"
    static let crioID = "9689413a5a09c74fc99b598f6c28096cc8a94018930db76b0a230d72259fa57b"

    @Test func dockerConfigGivesNameImageAndTheRunningBindings() throws {
        let container = try ContainerStateFiles.dockerConfig(try TestFiles.fixture("containers/docker-config.v2.json"))
        #expect(container.id == Self.dockerID)
        #expect(container.name == "web")
        #expect(container.image == "nginx:1.27")
        // NetworkSettings.Ports: both families of the running binding; 443/tcp is exposed, not published (null).
        #expect(
            container.publishedPorts == [
                PublishedPort(containerPort: 80, portProtocol: .tcp, hostAddress: "0.0.0.0", hostPorts: 8080...8080),
                PublishedPort(containerPort: 80, portProtocol: .tcp, hostAddress: "::", hostPorts: 8080...8080),
            ])
    }

    @Test func dockerHostConfigGivesWhatWasAskedFor() throws {
        let ports = try ContainerStateFiles.dockerHostConfig(try TestFiles.fixture("containers/docker-hostconfig.json"))
        #expect(
            ports == [
                PublishedPort(containerPort: 53, portProtocol: .udp, hostAddress: "127.0.0.1", hostPorts: 5353...5353),
                PublishedPort(containerPort: 80, portProtocol: .tcp, hostAddress: nil, hostPorts: 8080...8080),
                PublishedPort(containerPort: 132, portProtocol: .sctp, hostAddress: nil, hostPorts: nil),
                PublishedPort(containerPort: 9000, portProtocol: .tcp, hostAddress: nil, hostPorts: 9000...9010),
            ])
    }

    @Test func dockerConfigWithHostConfigInsideIt() throws {
        // Not what dockerd writes (it keeps HostConfig in hostconfig.json), but `docker inspect` output has this shape.
        let text = """
            {"ID":"\(Self.dockerID)","Name":"/api","Config":{"Image":"registry.local/api@sha256:abc"},
             "HostConfig":{"PortBindings":{"8443":[{"HostIp":"10.0.0.5","HostPort":"443"}]}},
             "NetworkSettings":{"Ports":{}}}
            """
        let container = try ContainerStateFiles.dockerConfig(Array(text.utf8))
        #expect(container.name == "api" && container.image == "registry.local/api@sha256:abc")
        #expect(
            container.publishedPorts == [
                PublishedPort(containerPort: 8443, portProtocol: .tcp, hostAddress: "10.0.0.5", hostPorts: 443...443)
            ])
    }

    @Test func dockerPortMapSkipsWhatIsNotOfItsShape() throws {
        let text = """
            {"x/tcp":[{"HostPort":"1"}],"70000/tcp":[{"HostPort":"1"}],"80/quic":[{"HostPort":"1"}],
             "81/tcp":[{"HostIp":"","HostPort":"abc"}],"82/tcp":[{"HostIp":"","HostPort":"9-1"}],"83/tcp":"no",
             "84/tcp":[1,null,"x"],"85/TCP":[{"HostIp":"\\u001b[31m","HostPort":"85"}],"86/udp":null}
            """
        let ports = ContainerStateFiles.portMap(try JSONValue.parse(Array(text.utf8)))
        #expect(ports == [PublishedPort(containerPort: 85, portProtocol: .tcp, hostAddress: "\\x1b[31m", hostPorts: 85...85)])
        #expect(ContainerStateFiles.portMap(.string("x")) == [])
    }

    @Test func hostileDockerFiles() throws {
        #expect(throws: JSONParseError.self) { try ContainerStateFiles.dockerConfig(Array("{\"Name\":".utf8)) }
        #expect(throws: JSONParseError.self) { try ContainerStateFiles.dockerConfig([]) }
        #expect(throws: JSONParseError.self) { try ContainerStateFiles.dockerConfig([0xff, 0xfe]) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try ContainerStateFiles.dockerConfig(Array(deep.utf8)) }
        // Names with controls are escaped; a name of just "/" is no name.
        let evil = try ContainerStateFiles.dockerConfig(Array("{\"Name\":\"/a\\nb\\u009b\",\"Config\":{\"Image\":\"\"}}".utf8))
        #expect(evil.name == "a\\nb\\u{9b}" && evil.image == nil)
        #expect(try ContainerStateFiles.dockerConfig(Array("{\"Name\":\"/\"}".utf8)).name == nil)
        // Not an object at all: nothing known, no crash.
        #expect(try ContainerStateFiles.dockerConfig(Array("[1,2]".utf8)) == ContainerStateFiles.DockerContainer())
        // Floats are kept as text, not rejected, in fields nobody reads.
        #expect(try ContainerStateFiles.dockerConfig(Array("{\"Name\":\"/f\",\"X\":1.5e3}".utf8)).name == "f")
    }

    @Test func podmanStore() throws {
        let containers = try ContainerStateFiles.storageContainers(try TestFiles.fixture("containers/podman-containers.json"))
        #expect(containers.count == 2)
        let web = try #require(containers[Self.podmanID])
        #expect(web.name == "web")
        #expect(web.image == "docker.io/library/nginx:latest")
        #expect(
            containers.values.contains { $0.name?.hasSuffix("-infra") == true && $0.image?.hasPrefix("localhost/podman-pause") == true })
    }

    @Test func crioStoreNamesTheKubernetesContainer() throws {
        let containers = try ContainerStateFiles.storageContainers(try TestFiles.fixture("containers/crio-volatile-containers.json"))
        let nginx = try #require(containers[Self.crioID])
        #expect(nginx.name == "nginx")  // metadata-name, not the k8s_... storage name
        #expect(nginx.image == "docker.io/library/nginx:1.27")
    }

    @Test func hostileStores() throws {
        let text = """
            [{"id":"short","names":["x"]},{"id":7},{"names":["y"]},"junk",
             {"id":"\(Self.podmanID)","names":["\\u001b]0;pwned\\u0007"],"metadata":"{not json"},
             {"id":"\(Self.crioID)","names":[],"metadata":"{\\"name\\":\\"from-metadata\\"}"}]
            """
        let containers = try ContainerStateFiles.storageContainers(Array(text.utf8))
        #expect(containers.count == 2)
        #expect(containers[Self.podmanID]?.name == "\\x1b]0;pwned\\x07" && containers[Self.podmanID]?.image == nil)
        #expect(containers[Self.crioID]?.name == "from-metadata")
        #expect(try ContainerStateFiles.storageContainers(Array("{}".utf8)).isEmpty)
        #expect(throws: JSONParseError.self) { try ContainerStateFiles.storageContainers(Array("[".utf8)) }
    }

    @Test func kubeletLogNames() {
        let directory = ContainerStateFiles.podLogDirectory(Array("default_web-7d4b9c-x2x9q_\(ContainerIDs.podUID)".utf8))
        #expect(directory == ContainerStateFiles.PodLogDirectory(namespace: "default", name: "web-7d4b9c-x2x9q", uid: ContainerIDs.podUID))
        for bad in ["default_web", "a_b_c_d", "_web_uid", "ns__uid", ""] {
            #expect(ContainerStateFiles.podLogDirectory(Array(bad.utf8)) == nil)
        }
        #expect(ContainerStateFiles.podLogDirectory([0x61, 0x5f, 0xff, 0x5f, 0x31])?.name == "\\xff")

        let id = ContainerIDs.a
        let link = ContainerStateFiles.containerLogLink(Array("web-7d4b9c-x2x9q_default_istio-proxy-\(id).log".utf8))
        #expect(
            link == ContainerStateFiles.ContainerLogLink(pod: "web-7d4b9c-x2x9q", namespace: "default", container: "istio-proxy", id: id))
        for bad in ["web_default_nginx-\(id).txt", "web_default_nginx\(id).log", "web_nginx-\(id).log", "x.log", "\(id).log"] {
            #expect(ContainerStateFiles.containerLogLink(Array(bad.utf8)) == nil)
        }
    }
}
