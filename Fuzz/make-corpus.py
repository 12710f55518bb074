#!/usr/bin/env python3
"""Seeds Fuzz/Corpus/TARGET/ from the test fixtures and the tests' own sample
strings. Run from anywhere; rewrites the seed files (named seed-*), leaving
any other file in a corpus alone. Seeds are cut to MAX bytes so that the
corpora stay small."""
import base64, os, re, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")
CORE = os.path.join(ROOT, "Tests", "PortcullisCoreTests", "Fixtures")
SCAN = os.path.join(ROOT, "Tests", "PortcullisScanTests", "Fixtures")
MAX = 6000


def hexfile(path):
    """The bytes of a commented-hex fixture: '#' starts a comment, 'datagram' lines are markers."""
    out = bytearray()
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if not line or line == "datagram":
            continue
        out += bytes.fromhex(line.replace(" ", ""))
    return bytes(out)


def hexdatagrams(path):
    grams, cur = [], None
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line == "datagram":
            cur = bytearray()
            grams.append(cur)
        elif line:
            cur += bytes.fromhex(line.replace(" ", ""))
    return [bytes(g) for g in grams]


def read(path):
    return open(path, "rb").read()


seeds = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, []).append((name, data[:MAX]))


# netlink sock_diag
for f in sorted(os.listdir(os.path.join(CORE, "netlink"))):
    path = os.path.join(CORE, "netlink", f)
    grams = hexdatagrams(path)
    for i, g in enumerate(grams):
        seed("sockdiag", f"{f}-{i}", g)
# an ack (NLMSG_ERROR with error 0 and -ENOENT) and a lookup's reply
nlerr = lambda code: struct.pack("<IHHII", 36, 2, 0, 9, 0) + struct.pack("<i", code) + struct.pack("<IHHII", 16, 20, 0, 9, 0)
seed("sockdiag", "ack-ok", nlerr(0))
seed("sockdiag", "ack-enoent", nlerr(-2))

# /proc/net tables: the first byte picks protocol (n % 3: tcp, udp, raw), family (0x10: v6), byte order (0x20: big)
for f, sel in [("tcp", 0x00), ("tcp6", 0x10), ("udp", 0x01), ("udp6", 0x11), ("raw", 0x02), ("raw6", 0x12)]:
    seed("procnet", f, bytes([sel]) + read(os.path.join(CORE, "procnet", f)))
seed("procnet", "tcp-big", bytes([0x20]) + read(os.path.join(CORE, "procnet", "tcp"))[:600])

# /proc/PID files (the tests' samples)
for name, text in [
    ("stat", "4242 (evil) (x\n\x1b[31m) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"),
    ("status", "Name:\tsshd\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nPid:\t815\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n"),
    ("cmdline", "nginx: worker\n\0-c\0\xff\x1b[2J\0"),
    ("environ", "HOME=/root\0PATH=/usr/bin:/bin\0TERM=xterm\0"),
    ("fd-link", "socket:[123456]"),
    ("ns-link", "net:[4026531833]"),
    ("cgroup-v2", "0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n"),
    ("cgroup-kube", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope\n"),
    ("cgroup-v1", "12:pids:/docker/" + "a" * 64 + "\n1:name=systemd:/docker/" + "a" * 64 + "\n"),
    ("cgroup-user", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo\\x2dbar.scope\n"),
    ("cgroup-podman", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + "b" * 64 + ".scope/container\n"),
    ("mountinfo", "22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible,gid=4\n"
     "25 22 0:22 / /proc/sys/fs/binfmt_misc rw - autofs systemd-1 rw\n"
     "70 69 0:4 net:[4026532174] /run/netns/blue rw master:2 - nsfs nsfs rw\n"
     "72 69 0:4 net:[4026532300] /srv/my\\040netns rw - nsfs nsfs rw\n"),
    ("proc-stat", "cpu 1 2 3\nbtime 1764200000\nprocesses 5\n"),
    ("port-range", "32768\t60999\n"),
]:
    seed("procpid", name, text.encode("latin-1") if name == "cmdline" else text)

# /etc/passwd and /etc/services (NUL, then nmap-services)
seed("etc", "passwd", "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\ntoor:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n:x:5:5::/:\n")
seed("etc", "services", "# /etc/services\nssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\nhttp\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP\ndomain\t\t53/udp\nsnmp\t\t161/udp\n"
     "\0# nmap-services\nhttp\t80/tcp\t0.484143\t# World Wide Web HTTP\nssh\t22/tcp\t0.182286\ndomain\t53/udp\t0.213496\nunknown\t9999/tcp\t0.000001\n")
if os.path.exists("/etc/services"):
    seed("etc", "etc-services", read("/etc/services")[:4000])

# nft JSON, with iptables-save beside it
for d in ["nft", "published"]:
    for f in sorted(os.listdir(os.path.join(CORE, d))):
        if not f.endswith(".json"):
            continue
        data = read(os.path.join(CORE, d, f))
        stem = f[:-5]
        for ext in [".iptables-save", ".v4"]:
            p = os.path.join(CORE, d, stem + ext)
            if os.path.exists(p):
                data += b"\0" + read(p)
                break
        if len(data) <= 12000:
            seeds.setdefault("nft", []).append((f"{d}-{stem}", data))

# the policy
src = open(os.path.join(ROOT, "Tests", "PortcullisCoreTests", "PolicyParseTests.swift")).read()
m = re.search(r'static let text = """\n(.*?)\n\s*"""', src, re.S)
if m:
    seed("policy", "sample", "\n".join(l[8:] for l in m.group(1).split("\n")) + "\n")
seed("policy", "bench", read(os.path.join(ROOT, "bench", "policy.yaml")))
seed("policy", "ignore", "version: 1\nignore:\n  - rule: exposed-datastore\n    port: 6379\n    expires: 2027-01-31\n    reason: migration\nrules:\n  unknown-listener:\n    severity: low\n  world-writable-exe: off\n")

# DNS
for f in ["dns-dnsmasq.hex"]:
    seed("dns", f, hexfile(os.path.join(SCAN, "udp", f)))
def name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"
q = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 3, 0, 0) + name("www.example.com") + struct.pack(">HH", 1, 1)
q += b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, 6) + b"\x03web\xc0\x10"
q += b"\xc0\x2d" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([93, 184, 216, 34])
q += b"\xc0\x2d" + struct.pack(">HHIH", 28, 1, 60, 16) + bytes(15) + b"\x01"
seed("dns", "cname-a-aaaa", q)
seed("dns", "loop", struct.pack(">HHHHHH", 1, 0x8180, 1, 1, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1) + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 1, 4) + bytes(4))

# certificates (DER) and TLS flights
for f in sorted(os.listdir(os.path.join(SCAN, "certs"))):
    if f.endswith(".pem"):
        text = open(os.path.join(SCAN, "certs", f)).read()
        for i, b64 in enumerate(re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)):
            seed("x509", f"{f}-{i}", base64.b64decode(b64))
for f in sorted(os.listdir(os.path.join(SCAN, "tls"))):
    seed("tls", f, hexfile(os.path.join(SCAN, "tls", f))[:12000])

# banners: a port selector byte (an index into fuzz-banner's port list), then length-prefixed chunks
PORTS = [22, 80, 443, 6379, 11211, 3306, 5432, 21, 25, 2379, 5900, 23, 110, 143, 53, 161, 27017, 8080, 9999, 0]
def port_of(f):
    for key, port in [("ssh", 22), ("http", 80), ("redis", 6379), ("memcached", 11211), ("mysql", 3306), ("postgres", 5432),
                      ("ftp", 21), ("smtp", 25), ("etcd", 2379), ("imap", 143), ("pop3", 110), ("dns", 53), ("snmp", 161), ("ntp", 9999)]:
        if key in f:
            return port
    return 9999
def chunks(data):
    out = bytearray()
    for i in range(0, len(data), 200):
        part = data[i:i + 200]
        out += bytes([len(part)]) + part
    return bytes(out)
for d in ["banners", "udp"]:
    for f in sorted(os.listdir(os.path.join(SCAN, d))):
        data = hexfile(os.path.join(SCAN, d, f))[:3000]
        seed("banner", f"{d}-{f}", bytes([PORTS.index(port_of(f))]) + chunks(data))
        seed("banner", f"{d}-{f}-late", bytes([PORTS.index(port_of(f))]) + b"\0" + chunks(data))

# targets: port list, NUL, target text
for ports, targets in [
    ("22,80,8000-8002", "10.0.0.1-20"), ("T:22,80,U:53,161", "10.0.0.7/24"), ("443,T:8080-8081,U:500,4500,t:22", "2001:0db8::1"),
    ("-", "example.com"), ("65533-", "fe80::1%eth0"), ("U:-", "# targets\n192.168.1.0/30\nexample.org 10.1.1.1\n::1\n"),
    ("-5", "127.0.0.1 localhost\n::1 localhost ip6-localhost\n"), ("080", "nameserver 192.0.2.53\nnameserver fe80::1%eth0\nsearch example.com\noptions ndots:2 timeout:1\n"),
]:
    seed("targets", f"{ports[:8]}-{len(targets)}".replace("/", "_").replace(":", "_").replace(",", "_"), ports + "\0" + targets)

# the close journal document
doc = ('{"format":1,"target":"8080/tcp","namespace":"lab","method":"unit","steps":[{"kind":"stop_units","summary":"systemctl stop web.service",'
       '"status":"done","detail":"","undo":[{"kind":"delete_rules","rules":[{"chain":"prerouting","handle":4},{"chain":"output","handle":5}]},'
       '{"kind":"start_units","units":["web.socket","web.service"]},{"kind":"enable_units","units":["web.service"]},{"kind":"unmask_units","units":["web.socket"]},'
       '{"kind":"restore_restart_policy","container":{"id":"abc","name":"shop","runtime":"podman","restart_policy":"always"},"policy":"always"},'
       '{"kind":"start_container","container":{"id":"abc","runtime":"podman"}},{"kind":"irreversible","reason":"start it again by hand"}]}],"verification":null}')
seed("journal", "every-undo", doc)
seed("journal", "damaged", '{"format":1,"target":"1","namespace":"h","method":"unit","steps":[{"kind":"x","summary":"s","status":"done","undo":[{"kind":"rm -rf"}]}]}')

# snapshot rows: tag bytes (0 NULL, 1 integer: count then little-endian bytes, 2 text: length then bytes, 3 real)
def null(): return b"\0"
def i(v): b = struct.pack("<q", v); return b"\x01\x08" + b
def t(s): s = s.encode(); return b"\x02" + bytes([len(s)]) + s
header = [i(1800000000), null(), t("host"), t("fuzz"), i(1), i(1), i(1), t("[]")] + [null()] * 4
process = [i(812), i(1), t("sshd"), t("/usr/sbin/sshd -D"), t("/usr/sbin/sshd"), i(0), i(0), i(0), i(0), t("root"), i(1764200000),
           t("ssh.service"), null(), i(4026531840), null(), null(), null(), null(), null(), null()]
socket = [i(0), t("tcp"), t("ipv4"), t("0.0.0.0"), i(22), t("0.0.0.0"), i(0), i(10), i(1147), i(0), t("root"), null(), i(0), null(), i(0), i(0),
          t("system"), i(0), t("ssh"), t("any"), null(), t("812:3"), null(), null(), null()]
finding = [i(0), t("exposed-datastore"), t("high"), t("redis reachable"), t('{"proto":"tcp","family":"ipv4","local_address":"0.0.0.0","local_port":6379,"inode":5,"exposure":"any"}'),
           t("[]"), t("[]"), t("bind it to 127.0.0.1"), t("abc123"), t('[{"proto":"tcp","local_port":6379,"exposure":"loopback"}]')]
seed("snapshot", "one-of-each", b"".join(header) + b"\x01" + b"".join(process) + b"\x01" + b"".join(socket) + b"\x01" + b"".join(finding))
seed("snapshot", "empty", b"".join(header) + b"\0\0\0")

only = sys.argv[1:]
for target, items in seeds.items():
    if only and target not in only:
        continue
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.unlink(os.path.join(d, f))
    for n, data in items[:50]:
        with open(os.path.join(d, "seed-" + re.sub(r"[^A-Za-z0-9._-]", "_", n)), "wb") as out:
            out.write(data)
    print(f"{target}: {min(len(items), 50)} seeds, {sum(len(x) for _, x in items[:50])} bytes")
