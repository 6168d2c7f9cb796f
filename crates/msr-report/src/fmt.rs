//! Text for people: HTML escaping and the number formats of the report
//! (whole dollars with thousands separators for tables, `$38.8m`/`$2.74bn`
//! for headlines and chart ticks, basis points, multiples, percentages).
//!
//! Every function returns plain text; callers escape it with [`esc`] when
//! they put it into HTML or SVG (numbers included: the page never writes a
//! string it did not escape).

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a number not worth showing reads as (missing, NaN or infinite).
pub const NA: &str = "n/a";

/// Insert thousands separators into the digits of a non-negative integer
/// string: `"1234567"` → `"1,234,567"`.
fn group_digits(digits: &str) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` with `decimals` decimals and thousands separators: `-1234.5` →
/// `"-1,234.50"` for 2 decimals. Never prints `-0`.
pub fn number(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return NA.to_string();
    }
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let is_zero = text.bytes().all(|b| b == b'0' || b == b'.');
    let mut out = String::new();
    if x < 0.0 && !is_zero {
        out.push('-');
    }
    out.push_str(&group_digits(int));
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Whole dollars with separators: `"$38,804,264"`, `"-$793,849"`.
pub fn dollars(x: f64) -> String {
    dollars_dp(x, 0)
}

/// Dollars with `decimals` decimals: `"$1,234.57"`.
pub fn dollars_dp(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return NA.to_string();
    }
    let body = number(x.abs(), decimals);
    let negative = x < 0.0 && body.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if negative {
        format!("-${body}")
    } else {
        format!("${body}")
    }
}

/// Signed whole dollars for changes: `"+$1,234"`, `"-$56"`, `"$0"`.
pub fn dollars_signed(x: f64) -> String {
    let s = dollars(x);
    if x > 0.0 && s != "$0" {
        format!("+{s}")
    } else {
        s
    }
}

/// The scale a dollar amount reads best in: (divisor, suffix).
pub fn dollar_scale(magnitude: f64) -> (f64, &'static str) {
    let m = magnitude.abs();
    if m >= 1e9 {
        (1e9, "bn")
    } else if m >= 1e6 {
        (1e6, "m")
    } else if m >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    }
}

/// A short dollar amount with three significant figures or so:
/// `"$38.8m"`, `"$2.74bn"`, `"-$870k"`, `"$950"`.
pub fn dollars_short(x: f64) -> String {
    if !x.is_finite() {
        return NA.to_string();
    }
    let (div, suffix) = dollar_scale(x);
    let v = x.abs() / div;
    let decimals = if div == 1.0 {
        0
    } else if v >= 100.0 {
        1
    } else {
        2
    };
    let body = format!("{}{suffix}", number(v, decimals));
    if x < 0.0 && body.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        format!("-${body}")
    } else {
        format!("${body}")
    }
}

/// Signed short dollars for changes: `"+$1.23m"`.
pub fn dollars_short_signed(x: f64) -> String {
    let s = dollars_short(x);
    if x > 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        format!("+{s}")
    } else {
        s
    }
}

/// Basis points with two decimals: `"141.81 bp"`.
pub fn bp(x: f64) -> String {
    if x.is_finite() {
        format!("{} bp", number(x, 2))
    } else {
        NA.to_string()
    }
}

/// Signed basis points: `"+3.88 bp"`.
pub fn bp_signed(x: f64) -> String {
    let s = bp(x);
    if x > 0.0 && s != "0.00 bp" {
        format!("+{s}")
    } else {
        s
    }
}

/// A multiple of the servicing-fee strip: `"5.116x"`.
pub fn multiple(x: f64) -> String {
    if x.is_finite() {
        format!("{}x", number(x, 3))
    } else {
        NA.to_string()
    }
}

/// A percentage given in percent units: `pct(3.025, 2)` → `"3.03%"`.
pub fn pct(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{}%", number(x, decimals))
    } else {
        NA.to_string()
    }
}

/// A signed percentage in percent units: `"+3.03%"`.
pub fn pct_signed(x: f64, decimals: usize) -> String {
    let s = pct(x, decimals);
    if x > 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        format!("+{s}")
    } else {
        s
    }
}

/// An optional number through `f`, `"n/a"` when absent.
pub fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| NA.to_string(), f)
}

/// A count with separators: `"10,526"`.
pub fn count(n: u64) -> String {
    group_digits(&n.to_string())
}

/// The fewest decimals (at most 6) that show `x` exactly enough for a tick
/// label: 2.5 → 1, 0.25 → 2, 100 → 0.
pub fn tick_decimals(x: f64) -> usize {
    let x = x.abs();
    for d in 0..6 {
        let scaled = x * 10f64.powi(d as i32);
        if (scaled - scaled.round()).abs() <= 1e-6 * scaled.max(1.0) {
            return d;
        }
    }
    6
}

/// Turn a snake_case name into words: `"runoff_and_performance"` →
/// `"Runoff and performance"`.
pub fn humanize(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            esc(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("$1,234 bp"), "$1,234 bp");
    }

    #[test]
    fn numbers_have_separators_and_no_negative_zero() {
        assert_eq!(number(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(number(-1234.5, 0), "-1,234");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(-0.004, 2), "0.00");
        assert_eq!(number(f64::NAN, 2), "n/a");
        assert_eq!(dollars(38_804_264.29), "$38,804,264");
        assert_eq!(dollars(-793_848.99), "-$793,849");
        assert_eq!(dollars(-0.2), "$0");
        assert_eq!(dollars_signed(1234.0), "+$1,234");
        assert_eq!(dollars_dp(1234.567, 2), "$1,234.57");
        assert_eq!(count(10_526), "10,526");
    }

    #[test]
    fn short_dollars_pick_the_scale() {
        assert_eq!(dollars_short(38_804_264.29), "$38.80m");
        assert_eq!(dollars_short(2_736_354_341.71), "$2.74bn");
        assert_eq!(dollars_short(-870_123.0), "-$870.1k");
        assert_eq!(dollars_short(950.4), "$950");
        assert_eq!(dollars_short(123_456_789.0), "$123.5m");
        assert_eq!(dollars_short_signed(1_230_000.0), "+$1.23m");
        assert_eq!(dollars_short(f64::INFINITY), "n/a");
    }

    #[test]
    fn bp_multiple_and_percent() {
        assert_eq!(bp(141.8123), "141.81 bp");
        assert_eq!(bp_signed(3.876), "+3.88 bp");
        assert_eq!(bp_signed(-0.001), "0.00 bp");
        assert_eq!(multiple(5.1160999), "5.116x");
        assert_eq!(pct(3.025079, 2), "3.03%");
        assert_eq!(pct_signed(-1.5125, 2), "-1.51%");
        assert_eq!(opt(None, bp), "n/a");
    }

    #[test]
    fn tick_decimals_show_the_step() {
        assert_eq!(tick_decimals(100.0), 0);
        assert_eq!(tick_decimals(2.5), 1);
        assert_eq!(tick_decimals(0.25), 2);
        assert_eq!(tick_decimals(0.1 + 0.2), 1);
        assert_eq!(humanize("runoff_and_performance"), "Runoff and performance");
    }
}
