import PortcullisCore
import PortcullisLinux

/// `portcullis list`: the host's sockets with their owners, filtered.
public enum InventoryJob {
    /// Where to read, what to ask the kernel for, and what to show.
    public struct Options: Sendable {
        /// Where the sockets and processes are read.
        public var source: HostSource
        /// Which protocols, families and states the kernel is asked for.
        public var query: SocketQuery
        /// Which of the collected sockets are shown (port, pid, user, ...).
        public var filter: SocketFilter

        /// Every listening socket of the live host.
        public init(source: HostSource = HostSource(), query: SocketQuery = SocketQuery(), filter: SocketFilter = SocketFilter()) {
            self.source = source
            self.query = query
            self.filter = filter
        }
    }

    /// The collected inventory and the sockets shown.
    public struct Report: Sendable {
        /// Everything collected; its `diagnostics` are the report's.
        public var inventory: Inventory
        /// The sockets the filter keeps, in inventory order.
        public var entries: [InventoryEntry]
        /// What could not be read or attributed, the unattributed-socket
        /// notice (over `entries`) last.
        public var diagnostics: [Diagnostic] { inventory.diagnostics }
    }

    /// Collects the sockets with their owners and keeps those the filter matches.
    public static func run(_ options: Options) throws(JobError) -> Report {
        var collector = InventoryCollector(options: options.source.collectorOptions(query: options.query))
        var inventory: Inventory
        do { inventory = try collector.collect() } catch { throw .collection(error) }
        let entries = inventory.entries.filter(options.filter.matches)
        inventory.diagnostics = withUnattributedNotice(inventory.diagnostics, shown: entries)
        return Report(inventory: inventory, entries: entries)
    }
}

/// `portcullis who PORT`: every socket on a port, its owners, their parents and unit.
public enum WhoJob {
    /// Who holds the port, and what could not be read.
    public struct Report: Sendable {
        /// Every socket on the port with its owners, their parents and unit.
        public var who: WhoReport
        /// What could not be read, then the unattributed-socket notice over the port's sockets.
        public var diagnostics: [Diagnostic]
    }

    /// `proto` nil means TCP and UDP.
    public static func run(port: UInt16, proto: TransportProtocol?, source: HostSource = HostSource()) throws(JobError) -> Report {
        var collector = InventoryCollector(options: source.collectorOptions(query: SocketQuery()))
        let who: WhoReport
        let inventory: Inventory
        do { (who, inventory) = try collector.who(port: port, proto: proto) } catch { throw .collection(error) }
        return Report(who: who, diagnostics: withUnattributedNotice(inventory.diagnostics, shown: who.items.map(\.entry)))
    }
}
