//! Numbers in scenario files: TOML integers (`0x2000_0000`) or strings (`"0xffff_ffff_8100_0000"`)
//! for values TOML's signed 64-bit integers cannot hold.

use core::fmt;

use serde::Deserialize;
use serde::de::{self, Visitor};

/// An unsigned 64-bit number written as an integer or a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number(pub u64);

/// Parse `0x…`, `0b…` or decimal text, with `_` separators.
#[must_use]
pub fn parse_u64(text: &str) -> Option<u64> {
    let clean: String = text.trim().chars().filter(|c| *c != '_').collect();
    if let Some(hex) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(bin) = clean.strip_prefix("0b") {
        u64::from_str_radix(bin, 2).ok()
    } else {
        clean.parse().ok()
    }
}

struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer, or a string such as \"0xffff_ffff_8100_0000\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        u64::try_from(v)
            .map(Number)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        parse_u64(v)
            .map(Number)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_binary_decimal_and_separators() {
        assert_eq!(parse_u64("0x2000_0000"), Some(0x2000_0000));
        assert_eq!(parse_u64("0XfF"), Some(255));
        assert_eq!(parse_u64("0b101"), Some(5));
        assert_eq!(parse_u64("1_000"), Some(1000));
        assert_eq!(
            parse_u64("0xffff_ffff_8100_0000"),
            Some(0xffff_ffff_8100_0000)
        );
        assert_eq!(
            parse_u64("0x1_0000_0000_0000_0000"),
            None,
            "more than 64 bits"
        );
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("four"), None);
    }

    #[test]
    fn strings_carry_values_toml_integers_cannot() {
        #[derive(serde::Deserialize)]
        struct T {
            a: Number,
            b: Number,
        }
        let t: T = toml::from_str("a = 0x7fff\nb = \"0xffff_ffff_8100_0000\"")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((t.a.0, t.b.0), (0x7fff, 0xffff_ffff_8100_0000));
        assert!(toml::from_str::<T>("a = -1\nb = 0").is_err());
    }
}
