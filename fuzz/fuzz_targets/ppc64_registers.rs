//! PPC64 register decode: raw DABR/DABRX, DAWR/DAWRX, CIABR, DSISR images keep every bit, and
//! whatever program a pair decodes to encodes back to an image that decodes to it again.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hwbkpt_ppc64::{
    Ciabr, Dabr, Dabrx, Dawr, Dawrx, Dsisr, PowerProgram, decode_ciabr, decode_dabr, decode_dawr,
    encode_ciabr, encode_dabr, encode_dawr,
};

fuzz_target!(|raw: [u64; 6]| {
    let [dabr, dabrx, dawr, dawrx, ciabr, dsisr] = raw;
    assert_eq!(Dabr::from_bits(dabr).bits(), dabr);
    assert_eq!(Dawr::from_bits(dawr).bits(), dawr);
    assert_eq!(Dawrx::from_bits(dawrx).bits(), dawrx);
    assert_eq!(Ciabr::from_bits(ciabr).bits(), ciabr);
    assert_eq!(Dsisr::from_bits_retain(dsisr).bits(), dsisr);
    let dabrx = Dabrx::from_bits_retain(dabrx);
    assert_eq!(dabrx.bits(), raw[1]);

    if let Some(PowerProgram::Data(watch)) =
        decode_dawr(Dawr::from_bits(dawr), Dawrx::from_bits(dawrx))
    {
        let (a, x) = encode_dawr(&watch);
        assert_eq!(decode_dawr(a, x), Some(PowerProgram::Data(watch)));
    }
    if let Some(PowerProgram::Data(watch)) = decode_dabr(Dabr::from_bits(dabr), dabrx) {
        let (a, x) = encode_dabr(&watch);
        assert_eq!(decode_dabr(a, x), Some(PowerProgram::Data(watch)));
    }
    if let Some(PowerProgram::Instruction(brk)) = decode_ciabr(Ciabr::from_bits(ciabr)) {
        assert_eq!(
            decode_ciabr(encode_ciabr(&brk)),
            Some(PowerProgram::Instruction(brk))
        );
    }
});
