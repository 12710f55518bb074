/// The audit rules. Ids are stable: policies and CI pipelines refer to them.
public enum RuleID: String, Sendable, Hashable, CaseIterable, Codable {
    /// A database, cache, queue or search engine reachable beyond loopback.
    case exposedDatastore = "exposed-datastore"
    /// A control plane or management API reachable beyond loopback.
    case exposedAdminAPI = "exposed-admin-api"
    /// Telnet, FTP, r-services, TFTP, VNC, X11, SNMP listening beyond loopback.
    case cleartextRemoteAccess = "cleartext-remote-access"
    /// A UDP service prone to reflection/amplification reachable beyond loopback.
    case udpAmplification = "udp-amplification"
    /// A listener whose executable was deleted from disk.
    case deletedExecutable = "deleted-executable"
    /// A listener whose executable path now names a different file.
    case replacedExecutable = "replaced-executable"
    /// A listener run from a world-writable or temporary place, or a root
    /// process run from a user's home.
    case unsafeExecutableLocation = "unsafe-executable-location"
    /// A listener on a port commonly abused by backdoors and trojans.
    case backdoorPort = "backdoor-port"
    /// A RAW IP socket: sees packets without a port.
    case rawSocket = "raw-socket"
    /// An AF_PACKET socket: a sniffer or a portless (BPF-filtered) backdoor.
    case packetSocket = "packet-socket"
    /// A server listening inside the ephemeral port range.
    case ephemeralListener = "ephemeral-listener"
    /// A socket no process could be found for after a full walk as root.
    case unownedSocket = "unowned-socket"
    /// /etc/ld.so.preload or LD_PRELOAD: a library injected into programs.
    case ldPreload = "ld-preload"
    /// A listener reachable beyond loopback whose own configuration shows
    /// nothing uses it (rpcbind without NFS or NIS, Samba without shares,
    /// Postfix with local-only delivery, Avahi and CUPS browsing on a server).
    case unneededListener = "unneeded-listener"
    /// A listener the policy does not allow.
    case notInPolicy = "not-in-policy"
    /// A listener the baseline snapshot does not have (`audit --baseline`).
    case notInBaseline = "not-in-baseline"
    /// A published port (DNAT to a container, VM or pod) reachable from
    /// other hosts although the input chain would drop its port.
    case publishedPortBypassesInput = "published-port-bypasses-input"
    /// A published port with nothing listening behind it in the target's namespace.
    case publishedPortWithoutListener = "published-port-without-listener"
    /// A database, cache, queue or search engine published on every address of the host.
    case publishedDatastore = "published-datastore"
    /// A control plane or management API published on every address of the host.
    case publishedAdminAPI = "published-admin-api"
    /// `scan` only: SMB/NetBIOS, NFS, rpcbind or rsync answering a scanner
    /// that is not on the target's LAN (none of its directly connected
    /// networks holds the target).
    case exposedFileSharing = "exposed-file-sharing"
}
