#!/usr/bin/env bash
# Installs what the big-endian PowerPC 64 test run needs: the Rust standard library for the
# target (through the toolchain pinned in rust-toolchain.toml), Debian's cross linker and
# libc, and qemu-user to run the test binaries. Needs root for apt-get (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add powerpc64-unknown-linux-gnu

need=()
command -v powerpc64-linux-gnu-gcc >/dev/null || need+=(gcc-powerpc64-linux-gnu)
[ -d /usr/powerpc64-linux-gnu/lib ] || need+=(libc6-dev-ppc64-cross)
command -v qemu-ppc64 >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
