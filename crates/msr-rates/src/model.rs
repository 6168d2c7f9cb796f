//! [`RateModel`]: the resolved rate market of a run — curve, Hull–White model
//! and mortgage spread — with its shocked variants (MODEL.md §C.4) and the
//! paths it generates.

use msr_core::config::{Curve, HullWhite, MortgageRate};

use crate::{static_path, HullWhiteModel, Normals, PathGenerator, PathSet, RateError, ZeroCurve};

/// A curve, a Hull–White model and the mortgage spread `s_m`.
///
/// `s_m = m0 − y10(0)` is fixed from the base curve when the model is built;
/// shocked models carry the base spread unchanged, and generating their paths
/// from the base run's [`Normals`] gives common random numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct RateModel {
    curve: ZeroCurve,
    hw: HullWhiteModel,
    s_m: f64,
}

impl RateModel {
    /// The base model: `s_m = m0 − y10(0)` on `curve`.
    ///
    /// # Errors
    /// [`RateError::Parameter`] if `m0` is not finite.
    pub fn new(curve: ZeroCurve, hw: HullWhiteModel, m0: f64) -> Result<RateModel, RateError> {
        if !m0.is_finite() {
            return Err(RateError::Parameter {
                name: "mortgage_rate.m0",
                value: m0,
                rule: "must be finite",
            });
        }
        let s_m = m0 - curve.y10(0.0);
        Ok(RateModel { curve, hw, s_m })
    }

    /// The base model of a configuration's `[curve]`, `[hull_white]` and
    /// `[mortgage_rate]` tables.
    ///
    /// # Errors
    /// The first [`RateError`] of the curve, the Hull–White parameters or `m0`.
    pub fn from_config(
        curve: &Curve,
        hull_white: &HullWhite,
        mortgage_rate: &MortgageRate,
    ) -> Result<RateModel, RateError> {
        RateModel::new(
            ZeroCurve::from_config(curve)?,
            HullWhiteModel::from_config(hull_white)?,
            mortgage_rate.m0,
        )
    }

    /// The curve.
    pub fn curve(&self) -> &ZeroCurve {
        &self.curve
    }

    /// The Hull–White model.
    pub fn hull_white(&self) -> &HullWhiteModel {
        &self.hw
    }

    /// The mortgage spread `s_m` (from the base curve).
    pub fn s_m(&self) -> f64 {
        self.s_m
    }

    /// Every knot zero rate moved by `delta`; same model and `s_m`.
    ///
    /// # Panics
    /// If `delta` is not finite.
    pub fn shocked_parallel(&self, delta: f64) -> RateModel {
        RateModel {
            curve: self.curve.parallel_shift(delta),
            ..self.clone()
        }
    }

    /// The key-rate shock `k` (tenor [`KEY_RATE_TENORS`](crate::KEY_RATE_TENORS)`[k]`)
    /// of size `delta`; same model and `s_m`.
    ///
    /// # Panics
    /// If `k ≥ 6` or `delta` is not finite.
    pub fn shocked_key_rate(&self, k: usize, delta: f64) -> RateModel {
        RateModel {
            curve: self.curve.key_rate_shift(k, delta),
            ..self.clone()
        }
    }

    /// The per-month constants for `months` months, for generating paths one
    /// at a time with [`PathGenerator::fill_path`].
    pub fn generator(&self, months: usize) -> PathGenerator {
        PathGenerator::new(&self.curve, &self.hw, self.s_m, months)
    }

    /// Hull–White paths for every row of `normals` over `months` months,
    /// generated in parallel.
    ///
    /// # Panics
    /// If `months` is 0 or more than `normals` holds.
    pub fn paths(&self, normals: &Normals, months: usize) -> PathSet {
        self.generator(months).paths(normals)
    }

    /// The static path (MODEL.md §C.3) over `months` months.
    ///
    /// # Panics
    /// If `months` is 0.
    pub fn static_path(&self, months: usize) -> PathSet {
        static_path(&self.curve, self.s_m, months)
    }
}
