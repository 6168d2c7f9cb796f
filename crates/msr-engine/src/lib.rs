//! msr-engine (work in progress).
