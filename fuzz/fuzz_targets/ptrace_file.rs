//! The ptrace-compatible register files and the `ptrace-replay` parser: any sequence of
//! x86 `POKEUSER` writes and PPC64 requests, on any profile, never panics; a refused x86
//! write changes nothing a tracer can read; a refused PPC64 request changes no slot; armed
//! slots and HAL requests always agree; any replay text parses or names its line.
#![no_main]

use hwbkpt_hal::{Dispatcher, MemoryRead, MemoryReadError, TaskId};
use hwbkpt_ppc64::linux_ptrace::PpcHwBreakpoint;
use hwbkpt_ppc64::ptrace_file::{MAX_PTRACE_SLOTS, Ppc64PtraceFile};
use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_x86::ptrace_file::X86PtraceFile;
use hwbkpt_x86::{X86Cpu, X86Profile};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

struct NoMemory;
impl MemoryRead for NoMemory {
    fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
        Err(MemoryReadError::Unmapped { addr })
    }
}

#[derive(Debug, Arbitrary)]
enum PpcOp {
    SetDebugreg { addr: u64, data: u64 },
    SetHwDebug { version: u32, trigger: u32, mode: u32, condition: u32, addr: u64, addr2: u64 },
    DelHwDebug(i64),
}

#[derive(Debug, Arbitrary)]
enum Input {
    X86 { la57: bool, writes: Vec<(u8, u64)> },
    Ppc64 { profile: u8, dangerous: bool, ops: Vec<PpcOp> },
    Replay(String),
}

fuzz_target!(|input: Input| match input {
    Input::X86 { la57, writes } => {
        let profile = if la57 { X86Profile::GENERIC_X86_64_LA57 } else { X86Profile::GENERIC_X86_64 };
        let mut d = Dispatcher::<X86Cpu>::new(X86Cpu::new(profile));
        let mut file = X86PtraceFile::new(TaskId(1));
        for (n, value) in writes {
            let before = file.readback();
            if file.poke(n, value, &mut d, &mut NoMemory).is_err() {
                assert_eq!(file.readback(), before, "a refused write changed the readback");
            }
            for slot in 0..4 {
                let armed = file.breakpoint(slot).is_some_and(|b| b.enabled);
                assert_eq!(armed, file.request_id(slot).is_some());
            }
        }
    }
    Input::Ppc64 { profile, dangerous, ops } => {
        let profile = PowerProfile::ALL[usize::from(profile) % PowerProfile::ALL.len()];
        let mut d = Dispatcher::<PowerCpu>::new(PowerCpu::new(profile).with_dangerous_dawr(dangerous));
        let mut file = Ppc64PtraceFile::new(TaskId(1));
        for op in ops {
            let before: Vec<_> = (0..MAX_PTRACE_SLOTS).map(|i| file.watch(i)).collect();
            let refused = match op {
                PpcOp::SetDebugreg { addr, data } => {
                    file.set_debugreg(addr, data, &mut d, &mut NoMemory).is_err()
                }
                PpcOp::SetHwDebug { version, trigger, mode, condition, addr, addr2 } => {
                    let bp = PpcHwBreakpoint {
                        version,
                        trigger_type: trigger,
                        addr_mode: mode,
                        condition_mode: condition,
                        addr,
                        addr2,
                        condition_value: 0,
                    };
                    file.set_hwdebug(&bp, &mut d, &mut NoMemory).is_err()
                }
                PpcOp::DelHwDebug(handle) => file.del_hwdebug(handle, &mut d).is_err(),
            };
            if refused {
                let after: Vec<_> = (0..MAX_PTRACE_SLOTS).map(|i| file.watch(i)).collect();
                assert_eq!(before, after, "a refused request changed a slot");
            }
            for i in 0..MAX_PTRACE_SLOTS {
                assert_eq!(file.watch(i).is_some(), file.request_id(i).is_some());
            }
        }
    }
    Input::Replay(text) => {
        if let Err(error) = hwbkpt_sim_cli::ptrace_replay::parse("fuzz.replay", &text) {
            assert!(error.to_string().starts_with("fuzz.replay:"), "{error}");
        }
    }
});
