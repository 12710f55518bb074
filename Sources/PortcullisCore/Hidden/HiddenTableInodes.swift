/// Inodes from the socket tables that are not TCP/UDP (/proc/net/unix,
/// netlink, packet): their header names an "Inode" column and every row has
/// at least as many fields as the header up to it. Used only so the fd walk
/// can tell those sockets from hidden ones.
public enum HiddenTableInodes {
    /// Every non-zero inode in the "Inode" column of a table such as /proc/net/unix; empty when the header
    /// has no such column. Malformed rows are skipped.
    public static func inodes(headedTable bytes: [UInt8]) -> Set<UInt64> {
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: true).makeIterator()
        guard let header = lines.next() else { return [] }
        let names = header.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self).lowercased() }
        guard let column = names.firstIndex(of: "inode") else { return [] }
        var found = Set<UInt64>()
        while let line = lines.next() {
            let fields = line.split(separator: 0x20, maxSplits: column + 1)
            guard fields.count > column, let inode = UInt64(String(decoding: fields[column], as: UTF8.self)), inode != 0 else { continue }
            found.insert(inode)
        }
        return found
    }
}
