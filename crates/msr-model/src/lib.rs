//! msr-model (work in progress).
