//! Market data for msr-engine: the initial zero curve (MODEL.md §C.1), the
//! exact-fit Hull–White path generator (§C.2) with pseudo-random or
//! quasi-random (scrambled Sobol + Brownian bridge, docs/qmc.md) shocks, the
//! static path (§C.3), curve shocks (§C.4) and the calibration of the
//! Hull–White parameters to swaption volatilities (`swaption`,
//! docs/calibration-market.md). This crate knows nothing about loans.
//!
//! The usual entry point is [`RateModel`]: build it from the configuration,
//! draw the normals once with [`NormalGenerator`], then generate the base and
//! every shocked path set from those same [`Normals`]:
//!
//! ```
//! use msr_core::config::Config;
//! use msr_rates::{NormalGenerator, RateModel};
//!
//! let config = Config::default();
//! let base = RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)?;
//! let normals = NormalGenerator::from_config(&config.valuation).normals(256, 360);
//! let paths = base.paths(&normals, 360);
//! let up = base.shocked_parallel(0.0025).paths(&normals, 360);
//! assert_eq!(paths.num_paths(), 256);
//! assert!(up.short_rate[[0, 0]] > paths.short_rate[[0, 0]]);
//! # Ok::<(), msr_rates::RateError>(())
//! ```
//!
//! Determinism: path `p` is a pure function of `(inputs, seed, p)`; nothing is
//! reduced across paths, so results do not depend on the thread count.

pub mod bridge;
pub mod curve;
pub mod error;
pub mod hull_white;
pub mod model;
pub mod normals;
pub mod paths;
pub mod sobol;
pub mod swaption;

pub use bridge::{BrownianBridge, BrownianPca};
pub use curve::{key_rate_weight, ZeroCurve, KEY_RATE_TENORS};
pub use error::RateError;
pub use hull_white::{hull_white_paths, static_path, HullWhiteModel, PathGenerator, DT};
pub use model::RateModel;
pub use normals::{NormalGenerator, Normals, PathScheme, UnknownPathScheme};
pub use paths::{PathError, PathSet};
pub use sobol::{inverse_normal_cdf, ScrambledSobol, MAX_SOBOL_DIMS};
pub use swaption::{
    calibrate_hull_white, check_quotes, AtmSwap, FitParams, SwaptionFit, SwaptionQuote,
};
