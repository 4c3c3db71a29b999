//! DR6/DR7 decode → encode: every raw value decodes without panicking, rebuilding DR7 from
//! its decoded fields gives back every bit (reserved ones included), and a slot read back
//! from DR7 and its address register re-encodes to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hwbkpt_x86::{DebugSlot, Dr6, Dr7, X86SlotImage};

fuzz_target!(|input: (u64, u64, u64)| {
    let (raw_dr7, raw_dr6, address) = input;
    let dr7 = Dr7::from_bits_retain(raw_dr7);

    let mut fields_cleared = dr7;
    for slot in DebugSlot::ALL {
        fields_cleared.disable_slot(slot);
    }
    let mut rebuilt = fields_cleared;
    for slot in DebugSlot::ALL {
        rebuilt.set_condition(slot, dr7.condition(slot));
        rebuilt.set_size(slot, dr7.size(slot));
        rebuilt.set_local_enable(slot, dr7.local_enabled(slot));
        rebuilt.set_global_enable(slot, dr7.global_enabled(slot));
    }
    assert_eq!(rebuilt.bits(), raw_dr7, "DR7 fields do not round-trip");
    let _ = format!("{dr7} {dr7:?}");

    for slot in DebugSlot::ALL {
        if let Ok(Some(image)) = X86SlotImage::from_registers(slot, address, dr7) {
            let again = image.install_into(Dr7::RESET);
            assert_eq!(again.condition(slot), dr7.condition(slot));
            assert_eq!(again.size(slot), dr7.size(slot));
            assert_eq!(image.address(), address);
        }
    }

    let dr6 = Dr6::from_bits_retain(raw_dr6);
    assert_eq!(dr6.bits(), raw_dr6);
    let _ = (
        dr6.hit_slots(),
        dr6.single_step(),
        dr6.bus_lock_detected(),
        dr6.in_rtm(),
        dr6.is_quiet(),
    );
    for slot in DebugSlot::ALL {
        assert_eq!(dr6.hit(slot), raw_dr6 & (1 << slot.index()) != 0);
    }
});
