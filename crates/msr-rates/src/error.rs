//! [`RateError`]: why a curve or a rate-model parameter was rejected. Raised
//! once, at construction; everything built from a valid curve and model is
//! infallible `f64` math.

/// A curve or a rate-model parameter broke a rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// The curve has no knots.
    #[error("curve: no knots")]
    EmptyCurve,
    /// The tenor and zero-rate lists differ in length.
    #[error("curve: {tenors} tenors but {zero_rates} zero rates")]
    CurveLength {
        /// Number of tenors.
        tenors: usize,
        /// Number of zero rates.
        zero_rates: usize,
    },
    /// A knot is not finite, has a tenor ≤ 0, or does not follow its predecessor.
    #[error("curve knot {index} (tenor {tenor}, zero rate {zero_rate}): {rule}")]
    CurveKnot {
        /// 0-based knot index.
        index: usize,
        /// The knot's tenor in years.
        tenor: f64,
        /// The knot's zero rate.
        zero_rate: f64,
        /// The rule broken.
        rule: &'static str,
    },
    /// A model parameter is out of range.
    #[error("{name} = {value}: {rule}")]
    Parameter {
        /// The parameter, named as in the configuration (`hull_white.a`).
        name: &'static str,
        /// The offending value.
        value: f64,
        /// The rule broken.
        rule: &'static str,
    },
    /// A swaption quote is unusable (docs/calibration-market.md).
    #[error("swaption quote (expiry {expiry} y, tenor {tenor} y): {rule}")]
    Quote {
        /// The quote's expiry in years.
        expiry: f64,
        /// The quote's tenor in years.
        tenor: f64,
        /// The rule broken.
        rule: String,
    },
    /// Fewer quotes than parameters to fit.
    #[error("{quotes} swaption quote(s) cannot determine {params} parameter(s)")]
    TooFewQuotes {
        /// Quotes given.
        quotes: usize,
        /// Parameters fitted.
        params: usize,
    },
    /// A calibration did not converge.
    #[error("calibration: {0}")]
    Calibration(String),
}
