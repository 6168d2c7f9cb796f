//! The numeric tolerance policy, in one place (see docs/model.md, "Tolerances").
//!
//! Tests compare against these named constants, never against ad-hoc literals.

/// Agreement with an independent implementation of MODEL.md (golden cases):
/// relative difference at most this.
pub const SPEC_REL: f64 = 1e-9;

/// Absolute floor, in dollars, for spec comparisons of components that are zero
/// or nearly so.
pub const SPEC_ABS_DOLLARS: f64 = 1e-6;

/// Identities that hold in exact arithmetic and differ only by rounding
/// (e.g. the static path against the curve's discount factors).
pub const IDENTITY_REL: f64 = 1e-14;

/// Monte Carlo checks are stated in standard errors: |estimate − truth| must be
/// within this many standard errors.
pub const MC_SIGMAS: f64 = 3.0;

/// True when `a` and `b` agree to `rel` relative, with absolute floor `abs`.
pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    let diff = (a - b).abs();
    diff <= abs || diff <= rel * a.abs().max(b.abs())
}
