#!/usr/bin/env bash
# Builds the x86-64 test kernel (tests/kernel), checks that it links no panic path, boots it
# under QEMU (TCG, never KVM) and fails unless its closing line says "N passed, 0 failed".
#
#   scripts/test-kernel.sh
#
# Installs what it needs when missing: qemu-system-x86 and binutils (apt-get, needs root),
# the x86_64-unknown-none target (rustup). The kernel builds into $CARGO_TARGET_DIR/kernel
# (default target/kernel). KVM is never used: the KVM on our machines is software-nested and
# never delivers data breakpoints to a guest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt+=(qemu-system-x86)
{ command -v objcopy && command -v nm && command -v objdump; } >/dev/null 2>&1 || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
rustup target add x86_64-unknown-none >/dev/null

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/kernel"
(cd tests/kernel && cargo build --release --locked)
elf="$CARGO_TARGET_DIR/x86_64-unknown-none/release/hwbkpt-test-kernel"

# Panic-free gate: with LTO, a single reachable panic (bounds check, unwrap, copy length
# mismatch, formatting a str with Debug) links core::panicking::panic_fmt.
if nm "$elf" | grep -q 'panic_fmt'; then
  echo "FAIL: the kernel links core::panicking::panic_fmt; functions calling panic entry points:"
  objdump -d --no-show-raw-insn -C "$elf" |
    awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 } /(call|jmp).*<core::(panicking|slice::index|option::unwrap_failed|str::slice_error)/ { print "  " fn " -> " $NF }' |
    sort -u
  exit 1
fi
echo "panic-free gate: no panic_fmt in $(basename "$elf")"

# QEMU's multiboot loader refuses 64-bit ELF images.
image="$CARGO_TARGET_DIR/hwbkpt-test-kernel.elf32"
objcopy -O elf32-i386 "$elf" "$image"

log="$CARGO_TARGET_DIR/test-kernel.log"
start=$(date +%s%N)
set +e
timeout 60 qemu-system-x86_64 -accel tcg -m 128M -no-reboot \
  -display none -serial stdio -monitor none \
  -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
  -kernel "$image" | tr -d '\r' | tee "$log"
status=${PIPESTATUS[0]}
set -e
end=$(date +%s%N)
echo "boot and checks took $(((end - start) / 1000000)) ms; QEMU exit status $status"

# isa-debug-exit: status = (code << 1) | 1; the kernel writes 0x10 when every check passed.
closing=$(tail -n 1 "$log")
if [ "$status" -eq 124 ]; then
  echo "FAIL: QEMU timed out"
  exit 1
fi
if ! [[ "$closing" =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]; then
  echo "FAIL: closing line is '$closing'"
  exit 1
fi
if [ "$status" -ne 33 ]; then
  echo "FAIL: QEMU exit status $status, expected 33 (code 0x10)"
  exit 1
fi
echo "test kernel: $closing"
