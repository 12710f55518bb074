import Testing

@testable import PortcullisCore

@Suite struct ProcessFilesTests {
    @Test func statWithHostileComm() throws {
        // comm may contain spaces, parentheses and control bytes; the name ends at the last ')'.
        let line =
            "4242 (evil) (x\n\u{1b}[31m) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let stat = try #require(ProcessFiles.parseStat(Array(line.utf8)))
        #expect(stat.ppid == 17)
        #expect(stat.startTicks == 98765)
        #expect(stat.state == UInt8(ascii: "S"))
        #expect(stat.name == "evil) (x\\n\\x1b[31m")
        #expect(ProcessFiles.parseStat(Array("4242 (short) S 1".utf8)) == nil)
        #expect(ProcessFiles.parseStat([]) == nil)
    }

    @Test func effectiveUIDFromStatus() {
        let status = "Name:\tsshd\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
        #expect(ProcessFiles.effectiveUID(status: Array(status.utf8)) == 0)
        #expect(ProcessFiles.effectiveUID(status: Array("Name:\tx\n".utf8)) == nil)
    }

    @Test func threadGroupIDFromStatus() {
        let thread = "Name:\tworker\nUmask:\t0022\nTgid:\t812\nNgid:\t0\nPid:\t815\nPPid:\t1\n"
        #expect(ProcessFiles.threadGroupID(status: Array(thread.utf8)) == 812)
        #expect(ProcessFiles.threadGroupID(status: Array("Name:\tx\nTgid:\tabc\n".utf8)) == nil)
        #expect(ProcessFiles.threadGroupID(status: []) == nil)
    }

    @Test func commandLineJoinsAndEscapes() {
        let raw: [UInt8] = Array("nginx: worker\n".utf8) + [0] + Array("-c".utf8) + [0, 0xff, 0x1b, 0x5b, 0x32, 0x4a, 0]
        #expect(ProcessFiles.commandLine(raw) == "nginx: worker\\n -c \\xff\\x1b[2J")
        #expect(ProcessFiles.commandLine([]) == "")
    }

    @Test func socketAndNamespaceLinks() {
        #expect(ProcessFiles.socketInode(link: Array("socket:[123456]".utf8)) == 123456)
        #expect(ProcessFiles.socketInode(link: Array("socket:[]".utf8)) == nil)
        #expect(ProcessFiles.socketInode(link: Array("socket:[12a]".utf8)) == nil)
        #expect(ProcessFiles.socketInode(link: Array("pipe:[123]".utf8)) == nil)
        #expect(ProcessFiles.socketInode(link: Array("/tmp/socket:[1]".utf8)) == nil)
        #expect(ProcessFiles.socketInode(link: Array("socket:[99999999999999999999]".utf8)) == nil)
        #expect(ProcessFiles.namespaceInode(link: Array("net:[4026531833]".utf8)[...], kind: "net") == 4_026_531_833)
        #expect(ProcessFiles.namespaceInode(link: Array("pid:[4026531836]".utf8)[...], kind: "net") == nil)
    }

    @Test(arguments: [
        ("0::/system.slice/ssh.service\n", "ssh.service", nil as String?),
        ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.scope\n", "user@1000.service", nil),
        (
            "0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
            "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        ),
        (
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope\n",
            "cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope",
            "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
        ),
        (
            "12:pids:/docker/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n1:name=systemd:/docker/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
            nil, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ),
        ("0::/\n", nil, nil),
    ])
    func cgroupUnitsAndContainers(text: String, unit: String?, container: String?) {
        let info = ProcessFiles.parseCgroup(Array(text.utf8))
        #expect(info.unit == unit)
        #expect(info.container == container)
    }

    @Test func passwdFirstEntryWinsAndJunkIsSkipped() {
        let text =
            "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\ntoor:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n:x:5:5::/:\n"
        let users = ProcessFiles.parsePasswd(Array(text.utf8))
        #expect(users[0] == "root")
        #expect(users[65534] == "nobody")
        #expect(users[5] == nil)
        #expect(users.count == 2)
    }

    @Test func hidePIDFromMountinfo() {
        let hidden =
            "22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible,gid=4\n"
            + "25 22 0:22 / /proc/sys/fs/binfmt_misc rw - autofs systemd-1 rw\n"
        #expect(ProcessFiles.hidePID(mountinfo: Array(hidden.utf8), mountPoint: "/proc") == "invisible")
        let open = "22 28 0:21 / /proc rw,relatime - proc proc rw,hidepid=0\n"
        #expect(ProcessFiles.hidePID(mountinfo: Array(open.utf8), mountPoint: "/proc") == nil)
        #expect(ProcessFiles.hidePID(mountinfo: Array("garbage\n".utf8), mountPoint: "/proc") == nil)
        #expect(ProcessFiles.hidePID(mountinfo: Array(hidden.utf8), mountPoint: "/mnt/proc") == nil)
        // `unshare -m` then `mount -t proc -o hidepid=2 proc /proc`: the host's
        // mount stays listed first, the namespace's own is on top and counts.
        let stacked =
            "22 28 0:21 / /proc rw,relatime shared:12 - proc proc rw\n"
            + "612 22 0:95 / /proc rw,relatime - proc proc rw,hidepid=invisible\n"
        #expect(ProcessFiles.hidePID(mountinfo: Array(stacked.utf8), mountPoint: "/proc") == "invisible")
        let uncovered =
            "22 28 0:21 / /proc rw,relatime - proc proc rw,hidepid=invisible\n"
            + "612 22 0:95 / /proc rw,relatime - proc proc rw\n"
        #expect(ProcessFiles.hidePID(mountinfo: Array(uncovered.utf8), mountPoint: "/proc") == nil)
    }

    @Test func portRangeAndBootTime() {
        #expect(ProcessFiles.parsePortRange(Array("32768\t60999\n".utf8)) == 32768...60999)
        #expect(ProcessFiles.parsePortRange(Array("60999\t32768\n".utf8)) == nil)
        #expect(ProcessFiles.parsePortRange(Array("junk".utf8)) == nil)
        #expect(ProcessFiles.bootTime(procStat: Array("cpu 1 2 3\nbtime 1764200000\nprocesses 5\n".utf8)) == 1_764_200_000)
    }
}

@Suite struct UntrustedTextTests {
    @Test(arguments: [
        ("plain text", "plain text"),
        ("line\nbreak", "line\\nbreak"),
        ("tab\there", "tab\\there"),
        ("\u{1b}[31mred", "\\x1b[31mred"),
        ("back\\slash", "back\\\\slash"),
        ("del\u{7f}", "del\\x7f"),
        ("naïve 日本", "naïve 日本"),
        ("csi\u{9b}2J", "csi\\u{9b}2J"),
    ])
    func escapes(input: String, expected: String) {
        #expect(UntrustedText.escape(input) == expected)
    }

    @Test func invalidUTF8BecomesHex() {
        #expect(UntrustedText.escape([0x61, 0xff, 0x62]) == "a\\xffb")
        #expect(UntrustedText.escape([0xc0, 0xaf]) == "\\xc0\\xaf")  // overlong '/'
        #expect(UntrustedText.escape([0xed, 0xa0, 0x80]) == "\\xed\\xa0\\x80")  // surrogate
        #expect(UntrustedText.escape([0xe6, 0x97]) == "\\xe6\\x97")  // truncated
    }

    @Test func outputNeverContainsControlBytes() {
        for byte in UInt8(0)...UInt8(255) {
            let escaped = UntrustedText.escape([byte, 0x41])
            #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || ($0.value >= 0x7f && $0.value < 0xa0) })
        }
    }
}

@Suite struct TimestampTests {
    @Test func rfc3339() {
        #expect(Timestamp.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.iso8601(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(Timestamp.iso8601(1_795_000_000) == "2026-11-18T11:06:40Z")
    }
}

@Suite struct ExecutableCheckTests {
    let file = FileIdentity(device: 8, inode: 100, links: 1)
    let other = FileIdentity(device: 8, inode: 200, links: 1)

    func judge(_ link: String, running: FileIdentity?, disk: [String: FileIdentity]) -> ExecutableCheck.Result {
        ExecutableCheck.judge(link: Array(link.utf8), running: running) { disk[String(decoding: $0, as: UTF8.self)] }
    }

    @Test func unchangedFile() {
        #expect(
            judge("/usr/sbin/sshd", running: file, disk: ["/usr/sbin/sshd": file])
                == .init(exe: "/usr/sbin/sshd", deleted: false, replaced: false))
    }

    @Test func deletedByLinkCount() {
        let gone = FileIdentity(device: 8, inode: 100, links: 0)
        #expect(judge("/tmp/x (deleted)", running: gone, disk: [:]) == .init(exe: "/tmp/x", deleted: true, replaced: false))
    }

    @Test func deletedButHardLinkedElsewhere() {
        #expect(judge("/tmp/x (deleted)", running: file, disk: [:]).deleted)
    }

    @Test func aFileReallyNamedDeletedIsNotDeleted() {
        let result = judge("/opt/x (deleted)", running: file, disk: ["/opt/x (deleted)": file])
        #expect(result == .init(exe: "/opt/x (deleted)", deleted: false, replaced: false))
    }

    @Test func replacedOnlyOnPositiveEvidence() {
        #expect(judge("/usr/bin/redis-server", running: file, disk: ["/usr/bin/redis-server": other]).replaced)
        #expect(!judge("/usr/bin/redis-server", running: file, disk: [:]).replaced)  // nothing there: no evidence
    }

    @Test func rawBytesReachTheStat() {
        var seen: [UInt8] = []
        let link: [UInt8] = Array("/x/bad".utf8) + [0xff] + Array("dir/python3".utf8)
        let result = ExecutableCheck.judge(link: link, running: file) {
            seen = $0
            return file
        }
        #expect(seen == link)  // not a lossy UTF-8 round trip
        #expect(result.exe == "/x/bad\\xffdir/python3" && !result.replaced)
    }

    @Test func withoutTheLiveFileTheTextDecides() {
        #expect(judge("/tmp/x (deleted)", running: nil, disk: [:]) == .init(exe: "/tmp/x", deleted: true, replaced: false))
        #expect(judge("/usr/bin/x", running: nil, disk: [:]) == .init(exe: "/usr/bin/x", deleted: false, replaced: false))
    }
}
