//! The hot loop: one loan over one block of [`LANES`] paths for all its months
//! (MODEL.md §D–E), discounting each month's net servicing cash flow.
//!
//! State lives in structure-of-arrays form (`[f64; LANES]` per quantity), every
//! lane loop is straight-line arithmetic with `min`/`max` instead of branches,
//! and nothing allocates: the caller owns every buffer. Path-independent terms
//! come precomputed from [`LoanTerms`], path-dependent market factors from
//! [`Market`].

use crate::chain::{smm_from_cpr, step};
use crate::loan_terms::LoanTerms;
use crate::market::Market;
use crate::params::ModelParams;

/// Paths per block: one AVX-512 register of f64, two AVX2 registers.
pub const LANES: usize = 8;

/// A servicing cash-flow component of MODEL.md §E.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Component {
    /// Servicing fee (income).
    Fee = 0,
    /// Float on P&I collections (income).
    FloatPi,
    /// Float on escrow (income).
    FloatEscrow,
    /// Late fees collected (income).
    LateFee,
    /// Ancillary income.
    Ancillary,
    /// Recapture value (income).
    Recapture,
    /// Cost to service (cost).
    Cost,
    /// Advance financing (cost).
    AdvFinance,
    /// Compensating interest (cost).
    CompInt,
    /// Liquidation losses (cost).
    LiqLoss,
}

/// Number of cash-flow components.
pub const NUM_COMPONENTS: usize = 10;

/// Components in output order with their names (MODEL.md §F) and whether they
/// are costs (subtracted from value, reported positive).
pub const COMPONENTS: [(Component, &str, bool); NUM_COMPONENTS] = [
    (Component::Fee, "fee", false),
    (Component::FloatPi, "float_pi", false),
    (Component::FloatEscrow, "float_escrow", false),
    (Component::LateFee, "late_fee", false),
    (Component::Ancillary, "ancillary", false),
    (Component::Recapture, "recapture", false),
    (Component::Cost, "cost", true),
    (Component::AdvFinance, "adv_finance", true),
    (Component::CompInt, "comp_int", true),
    (Component::LiqLoss, "liq_loss", true),
];

/// Per-month expected quantities summed over a block's active lanes, beyond
/// the ten components (which occupy indices `0..NUM_COMPONENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum MonthlyField {
    /// Net cash flow (undiscounted).
    Net = NUM_COMPONENTS,
    /// Net cash flow discounted at path rates plus OAS.
    PvNet,
    /// Scheduled UPB in C at month end (`B0·b_t·π_t(C)`); D30..FC follow.
    UpbC,
    /// UPB in D30.
    UpbD30,
    /// UPB in D60.
    UpbD60,
    /// UPB in D90.
    UpbD90,
    /// UPB in D120.
    UpbD120,
    /// UPB in FC.
    UpbFc,
    /// Surviving loans `N·Σπ_t`.
    Surviving,
    /// Loans prepaid in the month `N·pp_mass`.
    Prepaid,
    /// Loans modified `N·mod_mass`.
    Modified,
    /// Loans resolved by deed in lieu `N·dil_mass`.
    DeedInLieu,
    /// Loans liquidated `N·liq_mass`.
    Liquidated,
}

/// Number of monthly fields (components first, then [`MonthlyField`]s).
pub const NUM_MONTHLY: usize = MonthlyField::Liquidated as usize + 1;

/// Per-lane present values of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockAccum {
    /// PV of each component by lane (costs positive).
    pub pv: [[f64; LANES]; NUM_COMPONENTS],
    /// PV of net cash flow by lane: the path value `V_p`.
    pub pv_net: [f64; LANES],
}

impl Default for BlockAccum {
    fn default() -> Self {
        BlockAccum {
            pv: [[0.0; LANES]; NUM_COMPONENTS],
            pv_net: [0.0; LANES],
        }
    }
}

/// Value one loan on one block of paths.
///
/// With `DETAIL`, also adds the month's cash flows summed over the block's
/// active lanes into `monthly[t-1]` and writes each lane's undiscounted net cash
/// flow to `net[t-1]`; both slices must hold at least `terms.n` rows. Without
/// `DETAIL` they are untouched (pass empty slices).
#[inline(never)]
pub fn run_block<const DETAIL: bool>(
    terms: &LoanTerms,
    p: &ModelParams,
    market: &Market,
    block: usize,
    out: &mut BlockAccum,
    monthly: &mut [[f64; NUM_MONTHLY]],
    net: &mut [[f64; LANES]],
) {
    let n = terms.n;
    let padded = market.padded();
    let active = market.active_lanes(block);
    let inv = &terms.inv;

    // Per-lane state.
    let mut pi = [[0.0f64; LANES]; 6];
    pi[terms.start_state] = [1.0; LANES];
    let mut adv = [[0.0f64; LANES]; 6];
    adv[terms.start_state] = [terms.advance_balance; LANES];
    let mut burn = [1.0f64; LANES];
    *out = BlockAccum::default();

    // Loan-constant products hoisted out of the month loop.
    let fee_rate = terms.s / 12.0;
    let float_k = p.float_days / 365.0;
    let escrow_float_k = terms.escrow * p.escrow_hold_months / 12.0;
    let late_k = p.late_fee_rate * p.late_fee_collect;
    let anc_k = terms.count * p.ancillary_annual / 12.0;
    let recap_k = p.recapture_rate * p.recapture_value;
    let comp_k = inv.comp_int_share * ((terms.c - terms.s) / 12.0) * 0.5;
    let liq_k = terms.count * inv.fc_unreimbursed;
    let cost_month = p.cost_annual.map(|c| c / 12.0);
    let h = terms.h;
    let stay = [
        0.0,
        1.0 - p.cure30 - p.roll30 - p.pp30,
        1.0 - p.cure60 - p.roll60,
        1.0 - p.cure90 - p.roll90,
        1.0 - p.cure120 - p.mod120 - p.dil120 - p.fc120,
        1.0 - p.reinstate - h,
    ];

    for t in 0..n {
        let lock_m = Market::lanes(&market.lock, padded, t, block);
        let refi_m = Market::lanes(&market.refi, padded, t, block);
        let burn_m = Market::lanes(&market.burn, padded, t, block);
        let r_pos = Market::lanes(&market.r_pos, padded, t, block);
        let df = Market::lanes(&market.df, padded, t, block);
        let bal = terms.bal[t];
        let pmt = terms.pmt[t];
        let roll = terms.roll[t];
        let new_adv_pi = terms.pi_advance[t];
        let cost_k = terms.count * p.cost_index[t];

        let mut cf = [[0.0f64; LANES]; NUM_COMPONENTS];
        let mut net_l = [0.0f64; LANES];
        let mut events = [[0.0f64; LANES]; 4];

        for l in 0..LANES {
            // §D.1 prepayment.
            let cpr = terms.cpr(t, lock_m[l], refi_m[l], burn[l], p);
            let smm = smm_from_cpr(cpr);
            burn[l] *= terms.burn_step(burn_m[l]);

            // §D.3 transitions.
            let start = [pi[0][l], pi[1][l], pi[2][l], pi[3][l], pi[4][l], pi[5][l]];
            let st = step(&start, smm, roll, h, p);

            // §E.2 advances: carry with the mass, release, add new.
            let a = [adv[1][l], adv[2][l], adv[3][l], adv[4][l], adv[5][l]];
            let adv_liq = a[3] * p.dil120 + a[4] * h;
            let carried = [
                a[0] * stay[1],
                a[0] * p.roll30 + a[1] * stay[2],
                a[1] * p.roll60 + a[2] * stay[3],
                a[2] * p.roll90 + a[3] * stay[4],
                a[3] * p.fc120 + a[4] * stay[5],
            ];
            let mut adv_bal = 0.0;
            for k in 1..6 {
                let new =
                    carried[k - 1] + st.pi[k] * (inv.pi_advance[k] * new_adv_pi + terms.escrow);
                adv[k][l] = new;
                adv_bal += new;
            }
            for (k, row) in pi.iter_mut().enumerate() {
                row[l] = st.pi[k];
            }

            // §E.3 components.
            let [pc, p30, _, _, _, _] = st.pi;
            let alive = st.pi[0] + st.pi[1] + st.pi[2] + st.pi[3] + st.pi[4] + st.pi[5];
            let pp_bal = st.pp_mass * bal;
            let r = r_pos[l];
            let fee = fee_rate * bal * pc;
            let float_pi = (pc * pmt + pp_bal) * r * float_k;
            let float_escrow = pc * escrow_float_k * r;
            let late_fee = late_k * pmt * p30;
            let ancillary = anc_k * alive;
            let recapture = recap_k * pp_bal;
            let cost = cost_k
                * (st.pi[0] * cost_month[0]
                    + st.pi[1] * cost_month[1]
                    + st.pi[2] * cost_month[2]
                    + st.pi[3] * cost_month[3]
                    + st.pi[4] * cost_month[4]
                    + st.pi[5] * cost_month[5]);
            let adv_finance = adv_bal * (r + p.advance_spread) / 12.0;
            let comp_int = comp_k * pp_bal;
            let liq_loss = liq_k * (st.liq_mass * p.fc_cost + st.dil_mass * p.dil_cost)
                + inv.adv_loss_share * adv_liq;
            let income = fee + float_pi + float_escrow + late_fee + ancillary + recapture;
            let costs = cost + adv_finance + comp_int + liq_loss;
            let month_net = income - costs;

            let d = df[l];
            let vals = [
                fee,
                float_pi,
                float_escrow,
                late_fee,
                ancillary,
                recapture,
                cost,
                adv_finance,
                comp_int,
                liq_loss,
            ];
            for (k, v) in vals.iter().enumerate() {
                out.pv[k][l] += v * d;
                cf[k][l] = *v;
            }
            out.pv_net[l] += month_net * d;
            net_l[l] = month_net;
            events[0][l] = st.pp_mass;
            events[1][l] = st.mod_mass;
            events[2][l] = st.dil_mass;
            events[3][l] = st.liq_mass;
        }

        if DETAIL {
            net[t] = net_l;
            let row = &mut monthly[t];
            let bal_end = terms.bal_end[t];
            for l in 0..active {
                for k in 0..NUM_COMPONENTS {
                    row[k] += cf[k][l];
                }
                row[MonthlyField::Net as usize] += net_l[l];
                row[MonthlyField::PvNet as usize] += net_l[l] * df[l];
                let mut alive = 0.0;
                for k in 0..6 {
                    row[MonthlyField::UpbC as usize + k] += bal_end * pi[k][l];
                    alive += pi[k][l];
                }
                row[MonthlyField::Surviving as usize] += terms.count * alive;
                for e in 0..4 {
                    row[MonthlyField::Prepaid as usize + e] += terms.count * events[e][l];
                }
            }
        }
    }
}
