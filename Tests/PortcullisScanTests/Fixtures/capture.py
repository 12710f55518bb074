#!/usr/bin/env python3
"""Records what a server sends, as a commented hex fixture.

    capture.py PORT OUT [--send TEXT | --send-hex FILE] [--udp] [--note TEXT]

Connects to 127.0.0.1:PORT (TCP, or UDP with --udp), optionally sends a
request (TEXT with \\r\\n escapes, or the bytes of a hex fixture), and reads
until the peer closes or is quiet for 1.5 s. Each output line is 16 bytes of
hex with their printable ASCII after '#'.
"""
import socket, sys, time

def read_hex(path):
    digits = "".join(line.split("#", 1)[0] for line in open(path))
    return bytes.fromhex("".join(digits.split()))

def main():
    args = sys.argv[1:]
    port, out = int(args[0]), args[1]
    payload, udp, note = b"", False, ""
    i = 2
    while i < len(args):
        if args[i] == "--send":
            payload = args[i + 1].encode().decode("unicode_escape").encode("latin-1"); i += 2
        elif args[i] == "--send-hex":
            payload = read_hex(args[i + 1]); i += 2
        elif args[i] == "--udp":
            udp = True; i += 1
        elif args[i] == "--note":
            note = args[i + 1]; i += 2
        else:
            raise SystemExit("unknown argument " + args[i])
    if udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        s.send(payload)
        s.settimeout(3)
        data = s.recv(65535)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if payload:
            s.sendall(payload)
        s.settimeout(1.5)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    with open(out, "w") as f:
        if note:
            for line in note.splitlines():
                f.write("# " + line + "\n")
        for off in range(0, len(data), 16):
            row = data[off:off + 16]
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
            f.write(row.hex(" ") + "  # " + text + "\n")
    print(f"{out}: {len(data)} bytes")

main()
