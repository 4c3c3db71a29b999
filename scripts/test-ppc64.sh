#!/usr/bin/env bash
# Runs the whole workspace test suite on big-endian PowerPC 64 under qemu-user.
#
#   scripts/test-ppc64.sh            # run the tests (prerequisites already installed)
#   scripts/test-ppc64.sh --setup    # install prerequisites first (apt-get: needs root)
#
# The runner and linker come from .cargo/config.toml. Tests that need an x86-64 host (ptrace
# on real debug registers, gdb, QEMU system emulation) are gated to it and report so.
# The raw SPR accessors are never executed here: qemu-user raises SIGILL on privileged SPRs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--setup" ]; then
  scripts/setup-ppc64.sh
  shift
fi

# Property tests run ~20x slower under emulation; fewer cases keep the stage in budget while
# still exercising every strategy.
export PROPTEST_CASES="${PROPTEST_CASES:-64}"
cargo test --workspace --target powerpc64-unknown-linux-gnu "$@"
