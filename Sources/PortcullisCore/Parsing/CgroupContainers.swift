/// Which container a cgroup path belongs to, from a table of the layouts
/// container runtimes write (one or more entries per runtime, systemd and
/// cgroupfs drivers alike). Pure: it reads the path it is given and nothing
/// else, so it runs the same on a live host and on a copied /proc.
///
/// The path is walked from its innermost component outwards and the first
/// component an entry recognises decides: a container nested in another
/// (Docker inside LXC) is attributed to the inner one. A runtime's monitor
/// process (`libpod-conmon-<id>`, `crio-conmon-<id>`, `lxc.monitor.<name>`,
/// nspawn's `supervisor`) is not inside the container it watches, so such a
/// component is skipped and the walk goes on outwards.
///
/// Paths are untrusted (a user may name the cgroups systemd delegated to
/// it): the walk is linear in the path's length, never traps, and every
/// name it returns is escaped with `UntrustedText`.
public enum CgroupContainers {
    /// How an entry reads the container's key out of the component.
    enum Key: Sendable {
        /// Exactly 64 hex digits between prefix and suffix.
        case id
        /// The 64 hex digits after the last `-` between prefix and suffix (or all of it without a `-`).
        case trailingID
        /// A non-empty name, as written.
        case name
        /// A non-empty name in systemd's unit-name escaping (`\x2d` for `-`).
        case systemdName
    }

    /// What a matching component is.
    enum Role: Sendable {
        /// The container itself (its payload).
        case container
        /// The runtime's monitor beside it: not in the container.
        case monitor
    }

    /// One row of the table: a component's shape, and what it means.
    struct Pattern: Sendable {
        var runtime: ContainerRuntime
        var role: Role = .container
        /// The component starts with this...
        var prefix: [UInt8]
        /// ...and ends with one of these, tried in order ("" for none).
        var suffixes: [[UInt8]]
        var key: Key
        /// The component before it must be exactly this (`/docker/<id>`).
        var parent: [UInt8]? = nil
        /// A component before it must contain "kubepods".
        var underKubepods = false
        /// The component must contain this (the generic monitor row).
        var contains: [UInt8]? = nil
        /// When the component after it is this, the process is the monitor (nspawn's `supervisor`).
        var monitorChild: [UInt8]? = nil
        /// Names starting with one of these are not containers (libvirt's `qemu-N-vm` machines).
        var rejectedNamePrefixes: [[UInt8]] = []
    }

    private static func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    private static let scopeOrNothing = [b(".scope"), []]

    /// The table. Within one component the first matching row wins, so the
    /// monitor rows come before the container rows they resemble, and the
    /// generic 64-hex rows come last.
    static let table: [Pattern] = [
        // Monitors: on the host, beside the container.
        Pattern(runtime: .podman, role: .monitor, prefix: b("libpod-conmon-"), suffixes: scopeOrNothing, key: .id),
        Pattern(runtime: .crio, role: .monitor, prefix: b("crio-conmon-"), suffixes: scopeOrNothing, key: .id),
        Pattern(runtime: .lxc, role: .monitor, prefix: b("lxc.monitor."), suffixes: [[]], key: .name),
        Pattern(runtime: .lxc, role: .monitor, prefix: [], suffixes: [[]], key: .name, parent: b("lxc.monitor")),
        // Docker: systemd driver, then cgroupfs (`/docker/<id>`).
        Pattern(runtime: .docker, prefix: b("docker-"), suffixes: [b(".scope")], key: .id),
        Pattern(runtime: .docker, prefix: [], suffixes: [[]], key: .id, parent: b("docker")),
        // Podman: `libpod-<id>.scope` (systemd, also with a `/container` child) and `/libpod_parent/libpod-<id>`.
        Pattern(runtime: .podman, prefix: b("libpod-"), suffixes: scopeOrNothing, key: .id),
        // containerd: under Kubernetes, and nerdctl's own scopes.
        Pattern(runtime: .containerd, prefix: b("cri-containerd-"), suffixes: scopeOrNothing, key: .id),
        Pattern(runtime: .containerd, prefix: b("nerdctl-"), suffixes: [b(".scope")], key: .id),
        // CRI-O: systemd and cgroupfs.
        Pattern(runtime: .crio, prefix: b("crio-"), suffixes: scopeOrNothing, key: .id),
        // Kubernetes with the cgroupfs driver: `/kubepods/<qos>/pod<uid>/<id>`, runtime not named.
        Pattern(runtime: .cri, prefix: [], suffixes: [[]], key: .id, underKubepods: true),
        // LXC, LXD, Incus: `lxc.payload.<name>`, `lxc.payload/<name>`, and the older `/lxc/<name>`.
        Pattern(runtime: .lxc, prefix: b("lxc.payload."), suffixes: [[]], key: .name),
        Pattern(runtime: .lxc, prefix: [], suffixes: [[]], key: .name, parent: b("lxc.payload")),
        Pattern(runtime: .lxc, prefix: [], suffixes: [[]], key: .name, parent: b("lxc")),
        // systemd-nspawn and other machined machines; libvirt's VMs are not containers.
        Pattern(
            runtime: .nspawn, prefix: b("machine-"), suffixes: [b(".scope")], key: .systemdName, monitorChild: b("supervisor"),
            rejectedNamePrefixes: [b("qemu-")]),
        // Anything else that carries a container id: a monitor when it says so, else a container of unknown runtime.
        Pattern(runtime: .unknown, role: .monitor, prefix: [], suffixes: scopeOrNothing, key: .trailingID, contains: b("conmon")),
        Pattern(runtime: .unknown, prefix: [], suffixes: scopeOrNothing, key: .trailingID),
    ]

    /// The container the cgroup path (`/system.slice/docker-<id>.scope`)
    /// places a process in, with the pod uid when the path lies in a
    /// Kubernetes pod and the uid whose delegated subtree holds it; nil
    /// outside any container, and for a runtime's monitor process.
    public static func reference<C: Collection>(path: C) -> ContainerReference? where C.Element == UInt8 {
        let bytes = Array(path)
        let components = bytes.split(separator: 0x2f)
        let kubepods = components.firstIndex { contains($0, b("kubepods")) }
        var i = components.count - 1
        while i >= 0 {
            defer { i -= 1 }
            guard let (pattern, key) = match(components, at: i, kubepods: kubepods) else { continue }
            if pattern.role == .monitor { continue }
            var reference = ContainerReference(runtime: pattern.runtime)
            switch pattern.key {
            case .id, .trailingID: reference.id = String(decoding: key, as: UTF8.self)
            case .name: reference.name = UntrustedText.escape(key)
            case .systemdName: reference.name = UntrustedText.escape(systemdUnescape(key))
            }
            for j in stride(from: i - 1, through: 0, by: -1) {
                if reference.pod == nil, let uid = podUID(components[j], underKubepods: kubepods.map { $0 < j } ?? false) {
                    reference.pod = PodReference(uid: uid)
                }
                if reference.rootlessUID == nil, let uid = delegatedUID(components[j]) { reference.rootlessUID = uid }
            }
            return reference
        }
        return nil
    }

    /// The first row matching component `i`, and the key it read.
    static func match(_ components: [ArraySlice<UInt8>], at i: Int, kubepods: Int?) -> (Pattern, ArraySlice<UInt8>)? {
        let c = components[i]
        for pattern in table {
            guard c.starts(with: pattern.prefix) else { continue }
            if let parent = pattern.parent, i == 0 || !components[i - 1].elementsEqual(parent) { continue }
            if pattern.underKubepods, kubepods.map { $0 >= i } ?? true { continue }
            if let needle = pattern.contains, !contains(c, needle) { continue }
            for suffix in pattern.suffixes where c.count >= pattern.prefix.count + suffix.count && c.hasSuffix(suffix) {
                let body = c.dropFirst(pattern.prefix.count).dropLast(suffix.count)
                guard let key = key(body, pattern.key) else { continue }
                if pattern.rejectedNamePrefixes.contains(where: { systemdUnescape(key).starts(with: $0) }) { return nil }
                var matched = pattern
                if let child = pattern.monitorChild, i + 1 < components.count, components[i + 1].elementsEqual(child) {
                    matched.role = .monitor
                }
                return (matched, key)
            }
        }
        return nil
    }

    static func key(_ body: ArraySlice<UInt8>, _ kind: Key) -> ArraySlice<UInt8>? {
        switch kind {
        case .id:
            return isContainerID(body) ? body : nil
        case .trailingID:
            let tail = body.lastIndex(of: 0x2d).map { body[body.index(after: $0)...] } ?? body
            return isContainerID(tail) ? tail : nil
        case .name, .systemdName:
            return body.isEmpty ? nil : body
        }
    }

    /// 64 hex digits: the ids Docker, Podman, containerd and CRI-O give containers.
    static func isContainerID(_ s: ArraySlice<UInt8>) -> Bool {
        s.count == 64 && s.allSatisfy(isHexDigit)
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }

    /// The pod uid in a Kubernetes pod cgroup: `kubepods-burstable-pod<uid>.slice`
    /// (systemd driver, `_` for `-` in the uid) or `pod<uid>` below a
    /// `kubepods` component (cgroupfs driver); nil for anything else.
    static func podUID(_ c: ArraySlice<UInt8>, underKubepods: Bool) -> String? {
        var raw: ArraySlice<UInt8>
        let slice = b(".slice")
        if c.hasSuffix(slice) && contains(c, b("kubepods")) {
            let unit = c.dropLast(slice.count)
            guard let start = lastRange(of: b("-pod"), in: unit) else { return nil }
            raw = unit[start...]
        } else if underKubepods && c.starts(with: b("pod")) {
            raw = c.dropFirst(3)
        } else {
            return nil
        }
        // Dashed UUIDs (36) and the 32-hex-digit uids of static pods; `_` is the systemd driver's `-`.
        guard (32...36).contains(raw.count), raw.allSatisfy({ isHexDigit($0) || $0 == 0x2d || $0 == 0x5f }) else { return nil }
        raw = ArraySlice(raw.map { $0 == 0x5f ? 0x2d : $0 })
        return String(decoding: raw, as: UTF8.self)
    }

    /// The uid of `user@UID.service`, the subtree systemd delegates to a user (rootless containers live there).
    static func delegatedUID(_ c: ArraySlice<UInt8>) -> UInt32? {
        let prefix = b("user@")
        let suffix = b(".service")
        guard c.count > prefix.count + suffix.count, c.starts(with: prefix), c.hasSuffix(suffix) else { return nil }
        let digits = c.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.count <= 10, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt32(String(decoding: digits, as: UTF8.self))
    }

    /// Undoes systemd's unit-name escaping: each `\xNN` becomes the byte
    /// 0xNN (`web\x2d1` → `web-1`); anything else, a malformed escape
    /// included, is kept as written. The result is raw bytes, still to be escaped for display.
    public static func systemdUnescape<C: Collection>(_ s: C) -> [UInt8] where C.Element == UInt8 {
        let a = Array(s)
        var out: [UInt8] = []
        out.reserveCapacity(a.count)
        var i = 0
        while i < a.count {
            if a[i] == 0x5c, i + 3 < a.count, a[i + 1] == 0x78, let high = a[i + 2].hexDigitValue, let low = a[i + 3].hexDigitValue {
                out.append(high << 4 | low)
                i += 4
            } else {
                out.append(a[i])
                i += 1
            }
        }
        return out
    }

    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        lastRange(of: needle, in: haystack) != nil
    }

    /// The index just past the last occurrence of `needle` in `haystack`.
    static func lastRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> ArraySlice<UInt8>.Index? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var start = haystack.endIndex - needle.count
        while start >= haystack.startIndex {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start + needle.count }
            start -= 1
        }
        return nil
    }
}

extension ArraySlice where Element == UInt8 {
    fileprivate func hasSuffix(_ suffix: [UInt8]) -> Bool {
        count >= suffix.count && self.suffix(suffix.count).elementsEqual(suffix)
    }
}
