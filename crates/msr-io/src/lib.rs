//! msr-io (work in progress).
