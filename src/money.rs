//! Exact decimal amounts: balances, stakes, odds, sums.
//!
//! An amount is stored as a `BIGINT` count of millionths ("micro-units"), so
//! it is exact on SQLite and PostgreSQL alike and `SUM` stays an integer.
//! Six decimal places cover what casinos send (crypto included), and an i64
//! of millionths holds ±9,223,372,036,854.775807: totals up to 10^12 units
//! with room to spare. A value that does not fit is rejected, never rounded.
//! No float ever touches an amount.

use std::fmt;

/// Decimal places kept. Changing it changes the meaning of stored data.
pub const SCALE: u32 = 6;
const UNIT: i64 = 10i64.pow(SCALE);

/// An exact decimal with six places, stored as millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a decimal could not be read; the message completes "<field> ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is not a plain decimal number like 12.50 (no exponent, no thousands separators)")]
    Garbled,
    #[error(
        "has more than {SCALE} decimal places; hourglass keeps amounts exact and will not round"
    )]
    TooPrecise,
    #[error("is too large: amounts must lie within ±9223372036854.775807")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_micros(micros: i64) -> Self {
        Money(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses `-12.5`, `+3`, `0.000001`, `12.500000000` (trailing zeros beyond
    /// six places are harmless). Refuses exponents and anything inexact.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let text = text.trim();
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction)
        {
            return Err(MoneyError::Garbled);
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > SCALE as usize {
            return Err(MoneyError::TooPrecise);
        }
        let mut micros: i64 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            micros = micros
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(digit - b'0')))
                .ok_or(MoneyError::TooLarge)?;
        }
        micros = micros
            .checked_mul(10i64.pow(SCALE - fraction.len() as u32))
            .ok_or(MoneyError::TooLarge)?;
        Ok(Money(if negative { -micros } else { micros }))
    }

    /// Appends the plain decimal form with `places` decimals (`12.50`,
    /// `-3.000000`), so that every value of a column is written alike. A
    /// value with more places than `places` (which validation prevents)
    /// keeps them rather than being rounded.
    pub fn write_to(self, places: u32, out: &mut Vec<u8>) {
        let magnitude = self.0.unsigned_abs();
        if self.0 < 0 {
            out.push(b'-');
        }
        let mut ints = itoa::Buffer::new();
        out.extend_from_slice(ints.format(magnitude / UNIT as u64).as_bytes());
        out.push(b'.');
        let mut fraction = [b'0'; SCALE as usize];
        let mut rest = magnitude % UNIT as u64;
        for digit in fraction.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let needed = fraction
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(0, |i| i + 1);
        out.extend_from_slice(&fraction[..needed.max(places.min(SCALE) as usize)]);
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(24);
        self.write_to(SCALE, &mut out);
        f.write_str(std::str::from_utf8(&out).expect("ascii"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    #[test]
    fn parses_and_prints_plain_decimals() {
        for (input, output) in [
            ("12.5", "12.500000"),
            ("+7", "7.000000"),
            ("-3", "-3.000000"),
            ("0.000001", "0.000001"),
            ("-0.1", "-0.100000"),
            (".5", "0.500000"),
            ("5.", "5.000000"),
            ("1.2500000000", "1.250000"),
            ("9223372036854.775807", "9223372036854.775807"),
            ("-9223372036854.775807", "-9223372036854.775807"),
        ] {
            assert_eq!(money(input).to_string(), output, "{input}");
        }
    }

    #[test]
    fn writes_the_places_asked_for_and_never_rounds() {
        let written = |text: &str, places: u32| {
            let mut out = Vec::new();
            money(text).write_to(places, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(written("12.5", 2), "12.50");
        assert_eq!(written("-3", 2), "-3.00");
        assert_eq!(written("0", 6), "0.000000");
        assert_eq!(written("0.125", 2), "0.125");
    }

    #[test]
    fn refuses_what_it_cannot_keep_exactly() {
        assert_eq!(Money::parse("0.0000001"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("9223372036855"), Err(MoneyError::TooLarge));
        for text in [
            "", ".", "-", "1e3", "1,000.00", "12.5.1", "NaN", "0x10", "- 1",
        ] {
            assert_eq!(Money::parse(text), Err(MoneyError::Garbled), "{text}");
        }
    }

    proptest! {
        #[test]
        fn printing_then_parsing_is_identity(micros in any::<i64>().prop_filter("min has no positive twin", |m| *m != i64::MIN)) {
            let value = Money::from_micros(micros);
            prop_assert_eq!(Money::parse(&value.to_string()), Ok(value));
        }
    }
}
