//! The scenario-file parser of `hwbkpt-sim`: any text parses or is refused with an error that
//! names a line inside the file — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hwbkpt_sim_cli::scenario::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = parse("fuzz.toml", text) {
        let shown = error.to_string();
        assert!(
            shown.contains("fuzz.toml"),
            "the error must name the file: {shown}"
        );
    }
});
