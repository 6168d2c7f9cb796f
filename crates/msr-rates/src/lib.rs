//! msr-rates (work in progress).
