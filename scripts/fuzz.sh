#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time.
#
#   scripts/fuzz.sh            # 30 s per target (what CI runs)
#   scripts/fuzz.sh 600        # 10 minutes per target (a long local run)
#   scripts/fuzz.sh 600 plan   # one target
#
# Needs a nightly toolchain and cargo-fuzz (installed here when missing). The fuzz crate is
# outside the workspace (`fuzz/`); rust-toolchain.toml pins stable for everything else.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_registers ppc64_registers plan dispatch scenario ptrace_file)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz --locked

cargo +nightly fuzz build
for target in "${targets[@]}"; do
  echo "--- fuzz $target for ${seconds}s"
  # -timeout catches infinite loops (a run over 10 s is a failure); crashes and leaks fail.
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 2>&1 \
    | grep -E '^(#[0-9]+\s+DONE|Done|==[0-9]+==|SUMMARY|thread .* panicked)' || true
  # cargo fuzz exits non-zero on a crash, but the pipe hides it: check for artifacts.
  if compgen -G "artifacts/$target/*" >/dev/null; then
    echo "!!! fuzz target $target found a crash: fuzz/artifacts/$target/"
    exit 1
  fi
done
