#!/usr/bin/env python3
"""Where the bytes of a portcullis binary go: a rough attribution by symbol.

Usage: bench/size-breakdown.py [BINARY]   (default .build-pkg/release/portcullis,
an unstripped static release build; contrib/package.sh makes one)

Sums the sizes `nm -S` gives the binary's defined code and data symbols and
groups them by origin: Swift symbols by the module in their mangled name
(generic specializations count where they are defined, which is often the
caller's module), C and C++ symbols by prefix (sqlite3_, CNIOBoringSSL_,
yaml_, CF, ICU's icudt data blob). Section headers, Swift metadata without a
sized symbol, .eh_frame and DWARF are not attributed: the total printed is
the attributed part only, beside the sizes of the sections from `size -A`.
A measurement for deciding, not an exact ledger.
"""
import collections
import re
import subprocess
import sys

binary = sys.argv[1] if len(sys.argv) > 1 else ".build-pkg/release/portcullis"

OWN = ("Portcullis", "portcullis", "CPortcullisSys")
FOUNDATION = ("Foundation", "FoundationEssentials", "FoundationInternationalization", "_FoundationCShims",
              "_FoundationCollections")


def swift_module(name):
    match = re.match(r"^\$s(\d+)", name)
    if not match:
        return None
    length = int(match.group(1))
    return name[match.end():match.end() + length]


def origin(name):
    if name.startswith("$s"):
        module = swift_module(name)
        if module is None or module == "s" or name.startswith(("$ss", "$sS")):
            return "Swift standard library"
        if module.startswith("So"):
            return "Swift standard library"
        if module.startswith(OWN):
            return "portcullis (its own modules)"
        if module in FOUNDATION:
            return "Foundation"
        if module.startswith(("NIO", "_NIO", "CNIO")):
            return "swift-nio, swift-nio-ssl"
        if module.startswith("Hummingbird"):
            return "hummingbird-auth (bcrypt)"
        if module.startswith(("Crypto", "_Crypto", "X509", "SwiftASN1")):
            return "swift-crypto, swift-certificates, swift-asn1"
        return module
    if name.startswith("icudt"):
        return "ICU data (Foundation's)"
    if name.startswith("sqlite3"):
        return "SQLite (libsqlite3.a)"
    if "BoringSSL" in name:
        return "BoringSSL (swift-nio-ssl, swift-crypto)"
    if name.startswith("yaml_"):
        return "libyaml"
    if name.startswith(("CF", "__CF", "_CF", "kCF")):
        return "CoreFoundation"
    if re.search(r"icu_?\d+|_76\b|^swift_u[a-z]", name) or "icu" in name.lower():
        return "ICU code (Foundation's)"
    if name.startswith(("_dispatch", "dispatch_")):
        return "Dispatch"
    if name.startswith(("swift_", "_swift")):
        return "Swift runtime"
    return "other C and C++ (glibc, libstdc++, ...)"


totals = collections.Counter()
listing = subprocess.run(["nm", "-S", binary], capture_output=True, text=True, check=True).stdout
for line in listing.splitlines():
    fields = line.split()
    if len(fields) != 4 or fields[2].lower() not in "tdr":
        continue
    totals[origin(fields[3])] += int(fields[1], 16)

print(f"{binary}: bytes of sized code and data symbols, by origin")
for name, size in totals.most_common():
    if size >= 100_000:
        print(f"{size / 1e6:8.2f} MB  {name}")
rest = sum(size for size in totals.values() if size < 100_000)
print(f"{rest / 1e6:8.2f} MB  (each under 0.1 MB, together)")
print(f"{sum(totals.values()) / 1e6:8.2f} MB  attributed")
print()
print(subprocess.run(["size", "-A", binary], capture_output=True, text=True, check=True).stdout)
