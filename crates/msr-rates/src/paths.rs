//! [`PathSet`]: the market data the engine consumes for each path and month
//! (MODEL.md §C): short rate `r[p,t]`, mortgage rate `m[p,t]` and discount
//! factor `D[p,t]`, whether generated here or read from a user's path file.

use ndarray::Array2;

/// A rate path set failed a shape or value check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Arrays disagree in shape.
    #[error("path arrays disagree in shape: {0}")]
    Shape(String),
    /// A value is NaN or infinite.
    #[error("path {path}, month {month}: {what} is not finite ({value})")]
    NonFinite {
        /// 0-based path index.
        path: usize,
        /// 1-based month.
        month: usize,
        /// Which array.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// Fewer months than the loans need.
    #[error("the paths have {have} months but the loans need {need}")]
    TooShort {
        /// Months available.
        have: usize,
        /// Months needed.
        need: usize,
    },
}

/// Rate paths, path-major: element `[p, t-1]` is month `t` of path `p`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathSet {
    /// Short rate over month t, `r[p,t]`.
    pub short_rate: Array2<f64>,
    /// Primary mortgage rate seen at the start of month t, `m[p,t]`.
    pub mortgage_rate: Array2<f64>,
    /// Discount factor to the end of month t, `D[p,t]`.
    pub discount: Array2<f64>,
}

impl PathSet {
    /// Build from the three arrays, checking shapes and finiteness.
    ///
    /// # Errors
    /// [`PathError::Shape`] if shapes differ or are empty, [`PathError::NonFinite`]
    /// on the first NaN or infinity.
    pub fn new(
        short_rate: Array2<f64>,
        mortgage_rate: Array2<f64>,
        discount: Array2<f64>,
    ) -> Result<PathSet, PathError> {
        if short_rate.dim() != mortgage_rate.dim() || short_rate.dim() != discount.dim() {
            return Err(PathError::Shape(format!(
                "short_rate {:?}, mortgage_rate {:?}, discount {:?}",
                short_rate.dim(),
                mortgage_rate.dim(),
                discount.dim()
            )));
        }
        if short_rate.is_empty() {
            return Err(PathError::Shape("no paths or no months".into()));
        }
        for (what, arr) in [
            ("short_rate", &short_rate),
            ("mortgage_rate", &mortgage_rate),
            ("discount", &discount),
        ] {
            if let Some(((p, t), &v)) = arr.indexed_iter().find(|(_, v)| !v.is_finite()) {
                return Err(PathError::NonFinite {
                    path: p,
                    month: t + 1,
                    what,
                    value: v,
                });
            }
        }
        Ok(PathSet {
            short_rate,
            mortgage_rate,
            discount,
        })
    }

    /// Number of paths `P`.
    pub fn num_paths(&self) -> usize {
        self.short_rate.nrows()
    }

    /// Number of months `T`.
    pub fn months(&self) -> usize {
        self.short_rate.ncols()
    }

    /// Check the paths cover `need` months.
    ///
    /// # Errors
    /// [`PathError::TooShort`] when they do not.
    pub fn require_months(&self, need: usize) -> Result<(), PathError> {
        if self.months() < need {
            Err(PathError::TooShort {
                have: self.months(),
                need,
            })
        } else {
            Ok(())
        }
    }
}
