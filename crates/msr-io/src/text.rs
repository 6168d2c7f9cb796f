//! Text from the data in the files and terminals we write to: CSV cells that
//! a spreadsheet will not run as formulas, and loan ids that cannot drive a
//! terminal.
//!
//! **CSV injection** (OWASP, "CSV Injection"): a spreadsheet runs a cell that
//! begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula.
//! Every text cell of every CSV file msr writes (loan ids, group labels,
//! column names, rejected values) goes through [`csv_cell`]: a cell that
//! begins with one of those characters, or with `'`, is written with a `'`
//! in front, which Excel and LibreOffice show as text. The original is
//! recovered exactly by dropping one leading `'` ([`csv_cell_original`]).
//! Numbers (`-5`, `+1.5e3`) are left alone: they are data, not formulas.
//! Cells are then quoted as RFC 4180 requires, a bare `\r` included.

use std::borrow::Cow;

/// Leading characters that make a spreadsheet cell a formula (and `'`, the
/// escape itself, so that the escape can be undone).
pub const FORMULA_LEADS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// `s` as a CSV text cell, before quoting: with a `'` in front when it begins
/// with one of [`FORMULA_LEADS`] and is not a number.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some(c) if FORMULA_LEADS.contains(&c) && !is_number(s) => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// The text [`csv_cell`] was given, from the cell it wrote.
pub fn csv_cell_original(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// `s` as a complete CSV field for hand-assembled lines: [`csv_cell`], then
/// quoted (`"` doubled) when it holds a comma, a quote, `\n` or `\r`.
pub fn csv_field(s: &str) -> Cow<'_, str> {
    let cell = csv_cell(s);
    if cell.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", cell.replace('"', "\"\"")))
    } else {
        cell
    }
}

/// A plain decimal or scientific number (what `f64` parses, less the words
/// `inf` and `NaN`).
fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok() && s.bytes().all(|b| b"+-.eE0123456789".contains(&b))
}

/// `s` for a terminal: control characters (newlines, escapes, ...) shown as
/// Rust escapes (`\n`, `\u{1b}`), so a loan id cannot split a message or
/// drive the terminal. Printable text, non-ASCII included, is unchanged.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_recoverable() {
        for s in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tX",
            "\rX",
            "'quoted",
            "''",
            "-",
        ] {
            let cell = csv_cell(s);
            assert!(cell.starts_with('\''), "{s:?} -> {cell:?}");
            assert_eq!(csv_cell_original(&cell), s);
        }
        for s in ["L-1", "abc", "", "12.5", "-5", "+1.5e3", "1e-3", "ü=1"] {
            assert_eq!(csv_cell(s), s);
            assert_eq!(csv_cell_original(&csv_cell(s)), s);
        }
        // Words f64 parses are not numbers here.
        assert_eq!(csv_cell("-inf"), "'-inf");
    }

    #[test]
    fn fields_are_quoted_for_every_line_break() {
        assert_eq!(csv_field("a\rb"), "\"a\rb\"");
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field("=1,2"), "\"'=1,2\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn control_characters_are_escaped_for_terminals() {
        assert_eq!(terminal_safe("L1"), "L1");
        assert_eq!(terminal_safe("é-Ω"), "é-Ω");
        assert_eq!(terminal_safe("a\nb"), "a\\nb");
        assert_eq!(terminal_safe("\u{1b}[31mred"), "\\u{1b}[31mred");
    }
}
