//! Plan and encode one watchpoint on x86-64 and on every POWER profile, and print the
//! registers field by field.
//!
//! ```sh
//! cargo run --example plan_and_encode                      # 6 bytes at 0x7fff00001003, read|write
//! cargo run --example plan_and_encode -- 0x601000 600 w    # ADDR LEN ACCESS (r, w, rw, x)
//! ```

use std::process::ExitCode;

use hwbkpt::{AccessKind, DebugArchitecture, PoolKind, Request, SlotId};
use hwbkpt_ppc64::{PowerCpu, PowerProfile, SlotImage};
use hwbkpt_x86::{DebugSlot, X86Cpu, X86Profile, merge_images};

fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_access(text: &str) -> Option<AccessKind> {
    Some(match text {
        "r" => AccessKind::READ,
        "w" => AccessKind::WRITE,
        "rw" => AccessKind::READ_WRITE,
        "x" => AccessKind::EXECUTE,
        _ => return None,
    })
}

fn show_x86(request: &Request) {
    let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
    println!("x86-64 (generic, 4 shared slots, data traps after the access)");
    let plan = match cpu.prepare(request) {
        Ok(plan) => plan,
        Err(e) => return println!("  refused: {e}"),
    };
    let mut images = Vec::new();
    for (slot, program) in DebugSlot::ALL.into_iter().zip(&plan) {
        match cpu.encode(slot.slot_id(), program) {
            Ok(image) => {
                println!("  {slot} = {:#018x}   ({program:?})", image.address());
                images.push(image);
            }
            Err(e) => return println!("  refused: {e}"),
        }
    }
    println!("  DR7 = {}", merge_images(images.iter().copied()));
}

fn show_power(request: &Request, profile: PowerProfile, dangerous: bool) {
    let cpu = PowerCpu::new(profile).with_dangerous_dawr(dangerous);
    let suffix = if dangerous {
        " with dawr_enable_dangerous"
    } else {
        ""
    };
    println!("{profile:?}{suffix}");
    let plan = match cpu.prepare(request) {
        Ok(plan) => plan,
        Err(e) => return println!("  refused: {e}"),
    };
    let pool = if request.is_execute() {
        PoolKind::Instruction
    } else {
        PoolKind::Data
    };
    for (index, program) in (0u8..).zip(&plan) {
        let Some(slot) = SlotId::new(pool, index) else {
            return;
        };
        match cpu.encode(slot, program) {
            Ok(SlotImage::Dabr { dabr, dabrx }) => {
                println!("  DABR  = {:#018x}  {:?}", dabr.bits(), dabr.flags());
                println!("  DABRX = {:#018x}  {dabrx:?}", dabrx.bits());
            }
            Ok(SlotImage::Dawr { index, dawr, dawrx }) => {
                println!("  {index:?}: DAWR = {:#018x}", dawr.bits());
                println!(
                    "          DAWRX = {:#06x}  MRD {} ({} bytes), {:?}",
                    dawrx.bits(),
                    dawrx.mrd().get(),
                    dawrx.length(),
                    dawrx.flags()
                );
            }
            Ok(SlotImage::Ciabr(ciabr)) => {
                println!("  CIABR = {:#018x}  {:?}", ciabr.bits(), ciabr.privilege());
            }
            Err(e) => return println!("  refused: {e}"),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args
        .first()
        .map_or(Some(0x7fff_0000_1003), |a| parse_u64(a));
    let len = args.get(1).map_or(Some(6), |a| parse_u64(a));
    let access = args
        .get(2)
        .map_or(Some(AccessKind::READ_WRITE), |a| parse_access(a));
    let (Some(addr), Some(len), Some(access)) = (addr, len, access) else {
        eprintln!("usage: plan_and_encode [ADDR [LEN [r|w|rw|x]]]");
        return ExitCode::FAILURE;
    };
    let request = match Request::builder(addr, len, access).build() {
        Ok(request) => request,
        Err(e) => {
            eprintln!("invalid request: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "request: {access} {} (user task, continuous trigger)\n",
        request.range()
    );
    show_x86(&request);
    for profile in [
        PowerProfile::Power7,
        PowerProfile::Power8,
        PowerProfile::Power9,
    ] {
        println!();
        show_power(&request, profile, false);
    }
    println!();
    show_power(&request, PowerProfile::Power9, true);
    println!();
    show_power(&request, PowerProfile::Power10, false);
    ExitCode::SUCCESS
}
