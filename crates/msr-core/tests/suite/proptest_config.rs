//! Property-based fuzzing of the configuration parser (issue 5):
//! [`Config::from_toml_str`] must never panic, must name the key in every
//! error, and must accept only configurations that pass [`Config::validate`].
//!
//! * **Arbitrary text** — raw bytes (lossily UTF-8) and TOML-ish documents
//!   built from a grammar of known and unknown tables, keys and values, deep
//!   nesting and junk lines: never a panic; an error is one line; an accepted
//!   configuration validates and round-trips through TOML.
//! * **Arbitrary values for known keys** — one assignment to a key whose
//!   rule is simple (a probability, a non-negative amount, a bounded or merely
//!   finite number, a transition probability whose row must sum to at most
//!   1): accepted exactly when an independent oracle of the rule says so, as
//!   floats, integers, NaN, ±inf, huge and tiny numbers; strings, booleans,
//!   arrays and tables are refused; every refusal names the key.
//! * **Several assignments at once** — random subsets of all known keys with
//!   random values: an error names one of the keys assigned.
//!
//! `cargo fuzz` needs a nightly toolchain, which this project's machines do
//! not have, hence proptest. Case counts are modest by default; set
//! `PROPTEST_CASES` to run longer and `PROPTEST_RNG_SEED` to change the draw.
//! The seed corpus `tests/corpus/configs/` is checked file by file here.

use std::path::{Path, PathBuf};

use msr_core::{Config, ConfigError};
use proptest::prelude::*;

/// The properties every parse must have, whatever the input.
fn check_parse(text: &str) -> Result<Option<Config>, TestCaseError> {
    match Config::from_toml_str(text) {
        Ok(config) => {
            prop_assert!(config.validate().is_ok(), "accepted but invalid");
            let again = Config::from_toml_str(&config.to_toml_string());
            prop_assert!(
                matches!(&again, Ok(c) if *c == config),
                "does not round-trip through TOML: {again:?}"
            );
            Ok(Some(config))
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(!msg.is_empty() && !msg.contains('\n'), "message: {msg:?}");
            Ok(None)
        }
    }
}

// ---------------------------------------------------------------------------
// Arbitrary text
// ---------------------------------------------------------------------------

const TABLES: &[&str] = &[
    "valuation",
    "curve",
    "hull_white",
    "mortgage_rate",
    "prepay",
    "credit",
    "servicing",
    "servicing.cost_annual",
    "investors.FNMA",
    "investors.GNMA",
    "notes",
    "repline",
    "tape",
    "tape.columns",
    "valuaton",
    "prepay.extra",
    "[credit]",
];

const KEYS: &[&str] = &[
    "as_of",
    "oas",
    "num_paths",
    "seed",
    "antithetic",
    "tenors",
    "zero_rates",
    "a",
    "sigma",
    "m0",
    "turnover_cpr",
    "ramp_months",
    "lockin",
    "refi_max_cpr",
    "refi_slope",
    "refi_midpoint",
    "burnout",
    "refi_fico",
    "cpr_cap",
    "seasonality",
    "cpr_multiplier",
    "base_roll",
    "hpa",
    "cure30",
    "roll30",
    "pp30",
    "mod120",
    "reinstate",
    "fc_months_judicial",
    "judicial_states",
    "C",
    "D30",
    "FC",
    "cost_inflation",
    "float_days",
    "pi_advance_states",
    "adv_loss_share",
    "fc_unreimbursed",
    "comp_int_share",
    "mod_term",
    "dil_months",
    "keys",
    "fico_edges",
    "max_reject_share",
    "loan_id",
    "upb",
    "turnover",
    "x",
    "",
];

/// A TOML-ish value: scalars of every type, arrays, inline tables, nesting.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<f64>().prop_map(|x| format!("{x:?}")),
        any::<i64>().prop_map(|x| x.to_string()),
        prop::sample::select(vec![
            "nan",
            "-nan",
            "inf",
            "-inf",
            "+inf",
            "0",
            "-0",
            "1e999",
            "1e-999",
            "0.5",
            "1.5",
            "-0.1",
            "true",
            "false",
            "\"\"",
            "\"2026-11-30\"",
            "\"2026-02-30\"",
            "2026-11-30",
            "\"FNMA\"",
            "\"D30\"",
            "\"C\"",
            "0x10",
            "1_000",
            "[]",
            "{}",
            "'",
            "\"",
            "[1,",
            "{a=",
        ])
        .prop_map(str::to_string),
        "\"\\PC{0,8}\"",
        "[0-9.eE+-]{1,10}",
    ];
    leaf.prop_recursive(4, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|kv| {
                let parts: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("{} = {v}", if k.is_empty() { "\"\"" } else { k }))
                    .collect();
                format!("{{ {} }}", parts.join(", "))
            }),
        ]
    })
}

/// One line of a TOML-ish document.
fn toml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(TABLES).prop_map(|t| format!("[{t}]")),
        1 => prop::sample::select(TABLES).prop_map(|t| format!("[[{t}]]")),
        6 => (prop::sample::select(KEYS), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => (prop::sample::select(TABLES), prop::sample::select(KEYS), toml_value())
            .prop_map(|(t, k, v)| format!("{t}.{k} = {v}")),
        1 => "\\PC{0,20}",
        1 => Just("# comment".to_string()),
        1 => Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(msr_testkit::proptest_settings(256))]

    /// Raw bytes: never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_parse(&String::from_utf8_lossy(&bytes))?;
    }

    /// TOML-ish documents: never a panic; accepted means valid.
    #[test]
    fn toml_like_documents_never_panic(lines in prop::collection::vec(toml_line(), 0..16)) {
        check_parse(&lines.join("\n"))?;
    }

    /// Mutations of the shipped default configuration: delete, duplicate or
    /// overwrite lines and characters.
    #[test]
    fn damaged_default_config_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "\\PC{0,12}"), 1..6),
    ) {
        let mut text = default_toml();
        for (at, kind, s) in &edits {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            let k = at.index(lines.len());
            match kind {
                0 => { lines.remove(k); }
                1 => { let l = lines[k].clone(); lines.insert(k, l); }
                2 => lines[k] = s.clone(),
                _ => {
                    let line = &mut lines[k];
                    let cut = line.char_indices().map(|(i, _)| i).nth(s.len() % (line.chars().count() + 1));
                    line.insert_str(cut.unwrap_or(line.len()), s);
                }
            }
            text = lines.join("\n");
        }
        check_parse(&text)?;
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn default_toml() -> String {
    std::fs::read_to_string(repo().join("configs/default.toml")).unwrap()
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // A stack overflow would abort the process, not panic: the parser must
    // refuse pathological nesting with an error.
    for depth in [64usize, 1_000, 100_000] {
        let arrays = format!(
            "[prepay]\nseasonality = {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let tables = format!(
            "[prepay]\nx = {}{}\n",
            "{a=".repeat(depth),
            "}".repeat(depth)
        );
        for doc in [arrays, tables] {
            let e = Config::from_toml_str(&doc).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
    }
}

// ---------------------------------------------------------------------------
// Arbitrary values for known keys, against an oracle of each key's rule
// ---------------------------------------------------------------------------

/// The rule a key's value must satisfy, on its own (other keys at defaults).
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A probability in [0, 1].
    Prob,
    /// Finite and ≥ 0.
    NonNeg,
    /// Finite.
    Finite,
    /// Finite, in `[lo, hi]`.
    Within(f64, f64),
    /// Finite, in `[0, 1)`.
    BelowOne,
    /// Finite, `> lo`.
    Above(f64),
    /// A probability whose row of transition probabilities (the others at
    /// their defaults, in the row's order) sums to at most 1: the key's
    /// position in the row and the row's defaults.
    Row(usize, &'static [f64]),
    /// A foreclosure timeline: finite, ≥ 1 and `reinstate + 1/x ≤ 1`.
    FcMonths,
    /// 0, or finite in `[lo, hi]` (a mean reversion: none, or not tiny).
    ZeroOrWithin(f64, f64),
}

impl Rule {
    /// The oracle: is `x` accepted for a key with this rule?
    fn accepts(self, x: f64) -> bool {
        let finite = x.is_finite();
        match self {
            Rule::Prob => finite && (0.0..=1.0).contains(&x),
            Rule::NonNeg => finite && x >= 0.0,
            Rule::Finite => finite,
            Rule::Within(lo, hi) => finite && (lo..=hi).contains(&x),
            Rule::ZeroOrWithin(lo, hi) => x == 0.0 || (finite && (lo..=hi).contains(&x)),
            Rule::BelowOne => finite && (0.0..1.0).contains(&x),
            Rule::Above(lo) => finite && x > lo,
            Rule::Row(k, defaults) => {
                let mut sum = 0.0;
                for (j, d) in defaults.iter().enumerate() {
                    sum += if j == k { x } else { *d };
                }
                finite && (0.0..=1.0).contains(&x) && sum <= 1.0 + 1e-12
            }
            Rule::FcMonths => finite && x >= 1.0 && 0.02 + 1.0 / x <= 1.0 + 1e-12,
        }
    }
}

const D30: &[f64] = &[0.45, 0.30, 0.01];
const D60: &[f64] = &[0.25, 0.45];
const D90: &[f64] = &[0.10, 0.60];
const D120: &[f64] = &[0.03, 0.05, 0.01, 0.12];

/// Keys of one float value and their rules: (table, key, rule).
const FLOAT_KEYS: &[(&str, &str, Rule)] = &[
    ("valuation", "oas", Rule::Within(-1.0, 1.0)),
    ("hull_white", "a", Rule::ZeroOrWithin(1e-10, 5.0)),
    ("hull_white", "sigma", Rule::Within(0.0, 1.0)),
    ("mortgage_rate", "m0", Rule::Finite),
    ("prepay", "turnover_cpr", Rule::Prob),
    ("prepay", "lockin", Rule::Within(0.0, 5.0)),
    ("prepay", "refi_max_cpr", Rule::Prob),
    ("prepay", "refi_slope", Rule::Within(-7.0, 7.0)),
    ("prepay", "refi_midpoint", Rule::Finite),
    ("prepay", "burnout", Rule::Within(0.0, 5.0)),
    ("prepay", "refi_fico", Rule::Finite),
    ("prepay", "cpr_cap", Rule::BelowOne),
    ("prepay", "cpr_multiplier", Rule::NonNeg),
    ("credit", "base_roll", Rule::Prob),
    ("credit", "fico_beta", Rule::Finite),
    ("credit", "ltv_beta", Rule::Finite),
    ("credit", "roll_cap", Rule::Prob),
    ("credit", "hpa", Rule::Above(-1.0)),
    ("credit", "cure30", Rule::Row(0, D30)),
    ("credit", "roll30", Rule::Row(1, D30)),
    ("credit", "pp30", Rule::Row(2, D30)),
    ("credit", "cure60", Rule::Row(0, D60)),
    ("credit", "roll60", Rule::Row(1, D60)),
    ("credit", "cure90", Rule::Row(0, D90)),
    ("credit", "roll90", Rule::Row(1, D90)),
    ("credit", "cure120", Rule::Row(0, D120)),
    ("credit", "mod120", Rule::Row(1, D120)),
    ("credit", "dil120", Rule::Row(2, D120)),
    ("credit", "fc120", Rule::Row(3, D120)),
    // reinstate + 1/fc_months_nonjudicial (12) must be at most 1.
    ("credit", "reinstate", Rule::Row(0, &[0.02, 1.0 / 12.0])),
    ("credit", "fc_months_judicial", Rule::FcMonths),
    ("credit", "fc_months_nonjudicial", Rule::FcMonths),
    ("credit", "roll_multiplier", Rule::NonNeg),
    ("servicing.cost_annual", "C", Rule::NonNeg),
    ("servicing.cost_annual", "D30", Rule::NonNeg),
    ("servicing.cost_annual", "D60", Rule::NonNeg),
    ("servicing.cost_annual", "D90", Rule::NonNeg),
    ("servicing.cost_annual", "D120", Rule::NonNeg),
    ("servicing.cost_annual", "FC", Rule::NonNeg),
    ("servicing", "cost_inflation", Rule::Above(-1.0)),
    ("servicing", "float_days", Rule::NonNeg),
    ("servicing", "escrow_hold_months", Rule::NonNeg),
    ("servicing", "late_fee_rate", Rule::NonNeg),
    ("servicing", "late_fee_collect", Rule::Prob),
    ("servicing", "ancillary_annual", Rule::NonNeg),
    ("servicing", "advance_spread", Rule::Finite),
    ("servicing", "recapture_rate", Rule::Prob),
    ("servicing", "recapture_value", Rule::Finite),
    ("servicing", "fc_cost", Rule::NonNeg),
    ("servicing", "dil_cost", Rule::NonNeg),
    ("servicing", "cost_multiplier", Rule::NonNeg),
    ("notes", "roi_reperform", Rule::Above(-12.0)),
    ("notes", "roi_foreclosure", Rule::Above(-12.0)),
    ("notes", "mod_rate_floor", Rule::Finite),
    ("notes", "mod_cpr", Rule::Prob),
    ("notes", "mod_cost", Rule::NonNeg),
    ("notes", "dil_discount", Rule::Prob),
    ("notes", "cash_for_keys", Rule::NonNeg),
    ("notes", "reo_discount", Rule::Prob),
    ("notes", "sell_cost", Rule::Prob),
    ("notes", "preservation_monthly", Rule::NonNeg),
    ("repline", "note_rate_step_bps", Rule::Above(0.0)),
    ("tape", "max_reject_share", Rule::Prob),
];

/// A value for a float key, written as TOML.
#[derive(Debug, Clone)]
enum Value {
    /// A float (written with a decimal point or exponent; NaN and ±inf as
    /// TOML spells them).
    Float(f64),
    /// An integer (TOML integers are accepted for float keys).
    Int(i64),
    /// Anything that is not a number.
    Other(&'static str),
}

impl Value {
    fn toml(&self) -> String {
        match self {
            Value::Float(x) if x.is_nan() => "nan".into(),
            Value::Float(x) if x.is_infinite() => if *x > 0.0 { "inf" } else { "-inf" }.into(),
            Value::Float(x) => format!("{x:?}"),
            Value::Int(i) => i.to_string(),
            Value::Other(s) => s.to_string(),
        }
    }

    /// What the oracle sees: the number, or `None` for a wrong type.
    fn number(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            Value::Other(_) => None,
        }
    }
}

fn value() -> impl Strategy<Value = Value> {
    let boundaries = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        1.0 + 1e-12,
        1.0 + 1e-9,
        -1e-300,
        5.0,
        5.000_001,
        7.0,
        -7.0,
        -12.0,
        -11.999,
        0.999_999,
        0.69,
        0.690_000_000_01,
        0.54,
        0.25,
        0.91,
        11.0 / 12.0,
        1e300,
        -1e300,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    prop_oneof![
        4 => (-2.0f64..2.0).prop_map(Value::Float),
        3 => prop::sample::select(boundaries).prop_map(Value::Float),
        1 => any::<f64>().prop_map(Value::Float),
        2 => prop_oneof![(-20i64..20), any::<i64>()].prop_map(Value::Int),
        1 => prop::sample::select(vec![
            "\"0.5\"", "true", "[0.5]", "{ x = 1 }", "\"\"", "2026-11-30", "[]",
        ])
        .prop_map(Value::Other),
    ]
}

/// Does the error name the key `key` of table `table`? A range error must
/// name it exactly, as the dotted key `table.key` (alone, or as one term of a
/// rule over several keys: `credit.cure60 + credit.roll60`,
/// `credit.reinstate + 1/credit.fc_months_judicial`); a parse error (a
/// wrong type) names it as TOML does.
fn names_key(err: &ConfigError, table: &str, key: &str) -> bool {
    let dotted = format!("{table}.{key}");
    match err {
        ConfigError::Invalid { key: named, .. } => named
            .split(" + ")
            .map(|term| term.trim_start_matches("1/"))
            .any(|term| term == dotted),
        _ => {
            let msg = err.to_string();
            msg.contains(&format!("`{key}`")) || msg.contains(&format!("{key} ="))
        }
    }
}

proptest! {
    #![proptest_config(msr_testkit::proptest_settings(512))]

    /// One known key, one value: accepted exactly when the oracle says so;
    /// refused with the key named.
    #[test]
    fn one_known_key_follows_its_rule(k in 0..FLOAT_KEYS.len(), v in value()) {
        let (table, key, rule) = FLOAT_KEYS[k];
        let doc = format!("[{table}]\n{key} = {}\n", v.toml());
        let want = v.number().is_some_and(|x| rule.accepts(x));
        match Config::from_toml_str(&doc) {
            Ok(config) => {
                prop_assert!(want, "{doc} accepted, rule {rule:?}");
                prop_assert!(config.validate().is_ok());
            }
            Err(e) => {
                prop_assert!(!want, "{doc} refused: {e}");
                prop_assert!(names_key(&e, table, key), "{doc}: the error does not name the key: {e}");
                prop_assert!(!e.to_string().contains('\n'));
            }
        }
    }

    /// Several keys at once: an error names one of the keys assigned.
    #[test]
    fn errors_name_an_assigned_key(
        picks in prop::collection::btree_map(0..FLOAT_KEYS.len(), value(), 1..6),
    ) {
        let mut by_table: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (k, v) in &picks {
            let (table, key, _) = FLOAT_KEYS[*k];
            by_table.entry(table).or_default().push(format!("{key} = {}", v.toml()));
        }
        let doc: String = by_table
            .iter()
            .map(|(t, lines)| format!("[{t}]\n{}\n", lines.join("\n")))
            .collect();
        if let Err(e) = Config::from_toml_str(&doc) {
            let named = picks.keys().any(|k| names_key(&e, FLOAT_KEYS[*k].0, FLOAT_KEYS[*k].1));
            prop_assert!(named, "{doc}: {e}");
        }
        check_parse(&doc)?;
    }

    /// Integer keys refuse negatives, fractions and out-of-range values.
    #[test]
    fn integer_keys_are_typed(
        key in prop::sample::select(vec![
            ("valuation", "num_paths", 1i64, 1_000_000i64),
            ("prepay", "ramp_months", 1, u32::MAX as i64),
            ("notes", "mod_term", 1, 600),
            ("notes", "dil_months", 1, u32::MAX as i64),
            ("notes", "reo_months", 0, u32::MAX as i64),
        ]),
        v in prop_oneof![any::<i64>(), -5i64..700, Just(u32::MAX as i64 + 1)],
        as_float in any::<bool>(),
    ) {
        let (table, name, lo, hi) = key;
        let text = if as_float { format!("{}.0", v) } else { v.to_string() };
        let doc = format!("[{table}]\n{name} = {text}\n");
        let want = !as_float && (lo..=hi).contains(&v);
        match Config::from_toml_str(&doc) {
            Ok(_) => prop_assert!(want, "{doc} accepted"),
            Err(e) => {
                prop_assert!(!want, "{doc} refused: {e}");
                prop_assert!(names_key(&e, table, name), "{doc}: {e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Specific classes and the seed corpus
// ---------------------------------------------------------------------------

/// Each class of bad configuration of issue 5, with the key its error names.
#[test]
fn each_class_of_bad_config_names_the_key() {
    let cases = [
        // Unknown keys, at the top level and inside a table.
        ("[valuaton]\noas = 0.05\n", "valuaton"),
        ("[servicing.cost_annual]\nD150 = 100.0\n", "D150"),
        ("[hull_white]\nkappa = 0.1\n", "kappa"),
        // Wrong types.
        ("[valuation]\noas = \"6.5%\"\n", "oas"),
        ("[valuation]\nantithetic = \"yes\"\n", "antithetic"),
        ("[curve]\ntenors = \"1,2,3\"\n", "tenors"),
        (
            "[prepay]\nseasonality = [1, 1, 1, \"x\", 1, 1, 1, 1, 1, 1, 1, 1]\n",
            "seasonality",
        ),
        // Impossible probabilities.
        ("[credit]\ncure30 = 1.5\n", "credit.cure30"),
        ("[credit]\nfc120 = -0.01\n", "credit.fc120"),
        (
            "[credit]\ncure120 = 0.5\nmod120 = 0.5\n",
            "credit.cure120 + credit.mod120",
        ),
        ("[prepay]\ncpr_cap = 1.0\n", "prepay.cpr_cap"),
        ("[tape]\nmax_reject_share = nan\n", "tape.max_reject_share"),
        // Bad curves.
        (
            "[curve]\ntenors = [1.0, 0.5]\nzero_rates = [0.04, 0.04]\n",
            "curve.tenors[1]",
        ),
        (
            "[curve]\ntenors = [0.0, 1.0]\nzero_rates = [0.04, 0.04]\n",
            "curve.tenors[0]",
        ),
        ("[curve]\ntenors = []\nzero_rates = []\n", "curve.tenors"),
        (
            "[curve]\ntenors = [1.0, 2.0]\nzero_rates = [0.04]\n",
            "curve.zero_rates",
        ),
        (
            "[curve]\ntenors = [1.0, 2.0]\nzero_rates = [0.04, inf]\n",
            "curve.zero_rates[1]",
        ),
        (
            "[curve]\ntenors = [1.0, nan]\nzero_rates = [0.04, 0.04]\n",
            "curve.tenors[1]",
        ),
        (
            "[curve]\ntenors = [1.0, 2.0]\nzero_rates = [0.04, 1.5]\n",
            "curve.zero_rates[1]",
        ),
    ];
    for (doc, key) in cases {
        let e = Config::from_toml_str(doc).unwrap_err().to_string();
        assert!(e.contains(key), "{doc:?}: {e}");
        assert!(!e.contains('\n'), "{e}");
    }
}

/// The module doc says "a user's file need only name what it changes": an
/// `[investors.X]` table too, whose missing fields keep investor X's own §I
/// default (GNMA's, not FNMA's).
#[test]
fn a_partial_investor_table_takes_the_other_defaults() {
    let c = Config::from_toml_str("[investors.GNMA]\nadv_loss_share = 0.2\n").unwrap();
    let d = Config::default();
    assert_eq!(c.investors.gnma.adv_loss_share, 0.2);
    assert_eq!(
        c.investors.gnma.fc_unreimbursed,
        d.investors.gnma.fc_unreimbursed
    );
    assert_eq!(c.investors.gnma.fc_unreimbursed, 0.33);
    assert_eq!(c.investors.gnma.comp_int_share, 1.0);
    assert_eq!(
        c.investors.gnma.pi_advance_states,
        ["D30", "D60", "D90", "D120", "FC"]
    );
    assert_eq!(c.investors.fnma, d.investors.fnma);
    assert_eq!(c.investors.fhlmc, d.investors.fhlmc);
    assert_eq!(c.investors.pls, d.investors.pls);
    // One field of FHLMC only, and an empty PLS table.
    let c = Config::from_toml_str(
        "[investors.FHLMC]\npi_advance_states = [\"D30\"]\n[investors.PLS]\n",
    )
    .unwrap();
    assert_eq!(c.investors.fhlmc.pi_advance_states, ["D30"]);
    assert_eq!(c.investors.fhlmc.adv_loss_share, 0.02);
    assert_eq!(c.investors.fhlmc.fc_unreimbursed, 0.10);
    assert_eq!(c.investors.pls, d.investors.pls);
    // Still validated, and unknown fields and investors still refused.
    let e = Config::from_toml_str("[investors.PLS]\nfc_unreimbursed = 1.5\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("investors.PLS.fc_unreimbursed"), "{e}");
    for (doc, needle) in [
        (
            "[investors.GNMA]\nadv_loss = 0.2\n",
            "unknown field `adv_loss`",
        ),
        (
            "[investors.VA]\nadv_loss_share = 0.2\n",
            "unknown field `VA`",
        ),
        (
            "[investors.GNMA]\nadv_loss_share = \"high\"\n",
            "adv_loss_share",
        ),
    ] {
        let e = Config::from_toml_str(doc).unwrap_err().to_string();
        assert!(e.contains(needle) && !e.contains('\n'), "{doc:?}: {e}");
    }
    // Round trip: what is written back reads the same.
    let c = Config::from_toml_str("[investors.GNMA]\nadv_loss_share = 0.2\n").unwrap();
    assert_eq!(Config::from_toml_str(&c.to_toml_string()).unwrap(), c);
}

/// The two rules that named a key imprecisely now name the exact dotted
/// keys (docs/robustness.md, finding 9).
#[test]
fn range_errors_name_the_exact_key() {
    let cases = [
        (
            "[hull_white]\na = 6.0\n",
            "config key `hull_white.a` = 6: must be at most 5 (mean reversion per year)",
        ),
        (
            "[hull_white]\na = 5e-324\n",
            "config key `hull_white.a` = 5e-324: must be 0 or at least 1e-10 (use 0 for no mean reversion)",
        ),
        (
            "[hull_white]\nsigma = 1.5\n",
            "config key `hull_white.sigma` = 1.5: must be at most 1 (normal volatility per year)",
        ),
        (
            "[credit]\nreinstate = 0.95\n",
            "config key `credit.reinstate + 1/credit.fc_months_nonjudicial` = 1.0333333333333332: \
             transition probabilities out of FC must sum to at most 1",
        ),
        (
            "[credit]\nfc_months_judicial = 1.0\n",
            "config key `credit.reinstate + 1/credit.fc_months_judicial` = 1.02: \
             transition probabilities out of FC must sum to at most 1",
        ),
    ];
    for (doc, want) in cases {
        let e = Config::from_toml_str(doc).unwrap_err().to_string();
        assert_eq!(e, want, "{doc:?}");
    }
}

/// What each file of `tests/corpus/configs/` must give: `Ok` or an error
/// containing the text.
const CONFIG_CORPUS: &[(&str, Result<(), &str>)] = &[
    ("valid_minimal.toml", Ok(())),
    ("valid_stress.toml", Ok(())),
    ("unknown_key.toml", Err("unknown field `refi_speed`")),
    ("wrong_type.toml", Err("num_paths")),
    (
        "impossible_probability.toml",
        Err("credit.cure60 + credit.roll60"),
    ),
    ("bad_curve.toml", Err("curve.tenors[2]")),
    ("not_toml.toml", Err("TOML parse error")),
    ("cost_inflation_huge.toml", Ok(())),
];

#[test]
fn config_corpus_gives_its_documented_outcome() {
    let dir = repo().join("tests/corpus/configs");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = CONFIG_CORPUS.iter().map(|(n, _)| *n).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/corpus/configs and the table here disagree"
    );
    for (name, want) in CONFIG_CORPUS {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        match (Config::from_toml_str(&text), want) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(needle)) => {
                let e = e.to_string();
                assert!(e.contains(needle) && !e.contains('\n'), "{name}: {e}");
            }
            (got, _) => panic!("{name}: {got:?}"),
        }
    }
}
