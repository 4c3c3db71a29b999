#!/usr/bin/env bash
# Builds the x86-64 test kernel (tests/kernel), checks that it links no panic path, boots it
# under QEMU (TCG, never KVM) and fails unless its closing line says "N passed, 0 failed".
# Then the PPC64 register check (tests/kernel/ppc64) on QEMU powernv9 and powernv10, with the
# same rule for its closing line.
#
#   scripts/test-kernel.sh
#
# Installs what it needs when missing: qemu-system-x86, qemu-system-ppc, binutils and the
# powerpc64 binutils (apt-get, needs root), the x86_64-unknown-none and
# powerpc64-unknown-linux-gnu targets (rustup). Builds go to $CARGO_TARGET_DIR/kernel and
# $CARGO_TARGET_DIR/kernel-ppc64 (default under target/). KVM is never used: the KVM on our
# machines is software-nested and never delivers data breakpoints to a guest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_apt+=(qemu-system-x86)
command -v qemu-system-ppc64 >/dev/null 2>&1 || need_apt+=(qemu-system-ppc)
{ command -v powerpc64-linux-gnu-as && command -v powerpc64-linux-gnu-ld; } >/dev/null 2>&1 ||
  need_apt+=(binutils-powerpc64-linux-gnu)
{ command -v objcopy && command -v nm && command -v objdump; } >/dev/null 2>&1 || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
rustup target add x86_64-unknown-none powerpc64-unknown-linux-gnu >/dev/null

target_root="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TARGET_DIR="$target_root/kernel"
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

# --- PPC64 register check: our mtspr/mfspr with our encodings, read back (QEMU 7.2 stores
# DAWR0/DAWRX0/CIABR but raises no match interrupts, so nothing more can be checked there).
export CARGO_TARGET_DIR="$target_root/kernel-ppc64"
(cd tests/kernel/ppc64 && cargo build --release --locked)
ppc_lib="$CARGO_TARGET_DIR/powerpc64-unknown-linux-gnu/release/libhwbkpt_test_ppc64_spr.a"
powerpc64-linux-gnu-as -a64 -mpower9 -o "$CARGO_TARGET_DIR/entry.o" tests/kernel/ppc64/entry.S
powerpc64-linux-gnu-ld -static -nostdlib --no-warn-rwx-segments -T tests/kernel/ppc64/linker.ld \
  -o "$CARGO_TARGET_DIR/ppc64-spr.elf" "$CARGO_TARGET_DIR/entry.o" "$ppc_lib"
if powerpc64-linux-gnu-nm "$CARGO_TARGET_DIR/ppc64-spr.elf" | grep -q 'panic_fmt'; then
  echo "FAIL: the PPC64 image links core::panicking::panic_fmt"
  exit 1
fi
powerpc64-linux-gnu-objcopy -O binary "$CARGO_TARGET_DIR/ppc64-spr.elf" "$CARGO_TARGET_DIR/ppc64-spr.bin"

# qemu-system-ppc64 has no exit device: wait for the closing line, then stop QEMU.
for machine in powernv9 powernv10; do
  log="$CARGO_TARGET_DIR/$machine.log"
  : >"$log"
  start=$(date +%s%N)
  timeout 30 qemu-system-ppc64 -M "$machine" -nodefaults -display none -monitor none \
    -serial "file:$log" -bios "$CARGO_TARGET_DIR/ppc64-spr.bin" 2>/dev/null &
  qemu=$!
  for _ in $(seq 1 250); do
    grep -Eq '^[0-9]+ passed, [0-9]+ failed' "$log" && break
    kill -0 "$qemu" 2>/dev/null || break
    sleep 0.1
  done
  end=$(date +%s%N)
  kill "$qemu" 2>/dev/null || true
  wait "$qemu" 2>/dev/null || true
  echo "--- $machine ($(((end - start) / 1000000)) ms to the closing line)"
  tr -d '\r' <"$log"
  closing=$(tr -d '\r' <"$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if ! [[ "$closing" =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]; then
    echo "FAIL: $machine closing line is '$closing'"
    exit 1
  fi
done
echo "PPC64 register check: passed on powernv9 and powernv10"
