//! The bottom layer: the width of a block of paths and the aligned row types
//! the kernel, the market arrays and the rate factors are built from. It
//! imports nothing from the crate, so every other module can use it without
//! reaching up into the kernel.

/// Paths per block: one AVX-512 register of f64, two AVX2 registers.
pub const LANES: usize = 8;

/// Half a block: sums wanted only over paths are kept folded, lane `j`
/// holding paths `j` and `j + HALF` (`Lanes::fold_mul_add`).
pub const HALF: usize = LANES / 2;

/// `K` vectors of [`HALF`] lanes, each within one cache line (see
/// [`LaneRows`]): a month of [`MonthlyLanes`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(32))]
pub struct HalfRows<const K: usize>(pub [[f64; HALF]; K]);

impl<const K: usize> Default for HalfRows<K> {
    fn default() -> Self {
        HalfRows([[0.0; HALF]; K])
    }
}

/// `K` vectors of [`LANES`] lanes on a cache-line boundary, so that no lane
/// vector straddles two lines whatever the allocator (glibc's large blocks
/// start 16 bytes past a page, which splits every vector load and store):
/// the element type of the kernel's own buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(64))]
pub struct LaneRows<const K: usize>(pub [[f64; LANES]; K]);

impl<const K: usize> std::ops::Deref for LaneRows<K> {
    type Target = [[f64; LANES]; K];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<const K: usize> std::ops::DerefMut for LaneRows<K> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<const K: usize> Default for LaneRows<K> {
    fn default() -> Self {
        LaneRows([[0.0; LANES]; K])
    }
}
