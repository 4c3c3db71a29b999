//! Table tests against `vectors/` (computed independently of this crate from the published
//! formulas; see `vectors/README.md`).

use hwbkpt_hal::{AccessKind, DebugArchitecture, PrivilegeFilter};

use super::{data_slot, request_with};
use crate::{PowerCpu, PowerProfile, SlotImage, Translation};

const DAWRX_CSV: &str = include_str!("../../../vectors/ppc64-dawrx.csv");
const DABR_CSV: &str = include_str!("../../../vectors/ppc64-dabr.csv");

fn access(s: &str) -> AccessKind {
    match s {
        "r" => AccessKind::READ,
        "w" => AccessKind::WRITE,
        "rw" => AccessKind::READ_WRITE,
        other => panic!("unknown access {other}"),
    }
}

fn privilege(s: &str) -> PrivilegeFilter {
    match s {
        "user" => PrivilegeFilter::USER,
        "kernel" => PrivilegeFilter::KERNEL,
        "hyp" => PrivilegeFilter::HYPERVISOR,
        "user+kernel" => PrivilegeFilter::USER | PrivilegeFilter::KERNEL,
        "all" => PrivilegeFilter::all(),
        other => panic!("unknown privilege {other}"),
    }
}

fn translation(s: &str) -> Translation {
    match s {
        "on" | "1" => Translation::On,
        "off" | "0" => Translation::Off,
        "ignore" => Translation::Ignore,
        other => panic!("unknown translation {other}"),
    }
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn rows(csv: &'static str, header: &str) -> impl Iterator<Item = Vec<&'static str>> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(header));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').collect())
}

/// Every length 8..512 × access × privilege × translation, on DAWR0 of POWER8 and on both
/// DAWRs of POWER10, at an address where no boundary is crossed.
#[test]
fn dawrx_vectors() {
    let mut count = 0;
    for row in rows(
        DAWRX_CSV,
        "len_bytes,access,privilege,translation,dawrx_hex",
    ) {
        let [len, acc, prv, tr, expected] = row[..] else {
            panic!("bad row {row:?}")
        };
        let (len, expected) = (len.parse::<u64>().unwrap(), hex(expected));
        let req = request_with(0x1000_0000, len, access(acc), privilege(prv));
        for (profile, slot) in [
            (PowerProfile::Power8, 0),
            (PowerProfile::Power10, 0),
            (PowerProfile::Power10, 1),
        ] {
            let cpu = PowerCpu::new(profile);
            let plan = cpu.prepare(&req).unwrap();
            assert_eq!(plan.len(), 1);
            let program = plan
                .iter()
                .next()
                .unwrap()
                .with_translation(translation(tr));
            let image = cpu.encode(data_slot(slot), &program).unwrap();
            let SlotImage::Dawr { index, dawr, dawrx } = image else {
                panic!("{profile}: not a DAWR image: {image:?}")
            };
            assert_eq!(index.index(), slot);
            assert_eq!(dawr.bits(), 0x1000_0000);
            assert_eq!(dawrx.bits(), expected, "{profile} {row:?}");
            assert_eq!(dawrx.length(), len);
            // And back.
            assert_eq!(image.decode(), Some(program));
        }
        // What a plan encodes by default is the `on` row.
        if tr == "on" {
            let cpu = PowerCpu::new(PowerProfile::Power8);
            let program = *cpu.plan(&req).unwrap().iter().next().unwrap();
            let SlotImage::Dawr { dawrx, .. } = cpu.encode(data_slot(0), &program).unwrap() else {
                panic!("not a DAWR image")
            };
            assert_eq!(dawrx.bits(), expected, "default translation {row:?}");
        }
        count += 1;
    }
    assert_eq!(count, 64 * 3 * 5 * 3);
}

/// DABR = address & !7 | BT | DW | DR on POWER7, for a one-byte request at each address.
#[test]
fn dabr_vectors() {
    let cpu = PowerCpu::new(PowerProfile::Power7);
    let mut count = 0;
    for row in rows(DABR_CSV, "addr_hex,access,translation,dabr_hex") {
        let [addr, acc, tr, expected] = row[..] else {
            panic!("bad row {row:?}")
        };
        let req = request_with(hex(addr), 1, access(acc), PrivilegeFilter::USER);
        let plan = cpu.prepare(&req).unwrap();
        assert_eq!(plan.len(), 1);
        let program = plan
            .iter()
            .next()
            .unwrap()
            .with_translation(translation(tr));
        let image = cpu.encode(data_slot(0), &program).unwrap();
        let SlotImage::Dabr { dabr, dabrx } = image else {
            panic!("not a DABR image: {image:?}")
        };
        assert_eq!(dabr.bits(), hex(expected), "{row:?}");
        assert_eq!(dabrx.bits(), 0x1, "PR only");
        assert_eq!(image.decode(), Some(program));
        count += 1;
    }
    assert_eq!(count, 30);
}
