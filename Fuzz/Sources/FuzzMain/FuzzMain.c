// The entry point of every fuzz target. SwiftPM links an executable with
// `--defsym main=<module>_main`, so libFuzzer's own main is never used: each
// target's <module>_main hands argv to libFuzzer's driver instead, which runs
// the target's LLVMFuzzerTestOneInput (its @_cdecl function).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAIN(name) \
    int name##_main(int argc, char **argv) { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); }

FUZZ_MAIN(fuzz_banner)
FUZZ_MAIN(fuzz_dns)
FUZZ_MAIN(fuzz_etc)
FUZZ_MAIN(fuzz_journal)
FUZZ_MAIN(fuzz_nft)
FUZZ_MAIN(fuzz_policy)
FUZZ_MAIN(fuzz_procnet)
FUZZ_MAIN(fuzz_procpid)
FUZZ_MAIN(fuzz_snapshot)
FUZZ_MAIN(fuzz_sockdiag)
FUZZ_MAIN(fuzz_targets)
FUZZ_MAIN(fuzz_tls)
FUZZ_MAIN(fuzz_x509)
