// The files of /proc/PID that a process controls or a rootkit can shape:
// stat, status, cmdline, environ, cgroup (and the container names read from
// cgroup paths), mountinfo, the fd and ns links, /proc/stat and the
// ephemeral port range.
import PortcullisCore

/// libFuzzer's entry point: one input, `size` bytes at `data`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = ProcessFiles.parseStat(bytes)
    _ = TaskCensus.threadCount(stat: bytes)
    _ = ProcessFiles.effectiveUID(status: bytes)
    _ = ProcessFiles.threadGroupID(status: bytes)
    _ = ProcessFiles.commandLine(bytes)
    _ = ProcessFiles.environmentValue(bytes, name: "PATH")
    _ = ProcessFiles.socketInode(link: bytes)
    _ = ProcessFiles.namespaceInode(link: bytes[...], kind: "net")
    let cgroup = ProcessFiles.parseCgroup(bytes)
    _ = "\(cgroup.unit ?? "") \(cgroup.container ?? "") \(cgroup.path ?? "")"
    _ = CgroupContainers.reference(path: bytes)
    _ = CgroupContainers.systemdUnescape(bytes)
    _ = ProcessFiles.hidePID(mountinfo: bytes, mountPoint: "/proc")
    _ = ProcessFiles.networkNamespaceMounts(mountinfo: bytes)
    _ = ProcessFiles.bootTime(procStat: bytes)
    _ = ProcessFiles.parsePortRange(bytes)
    return 0
}
