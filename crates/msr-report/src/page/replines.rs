//! The rep-line section: what `msr repline` found the rep lines miss,
//! bucket by bucket and by one key.

use super::*;

/// A bucket id without its key names: `FHLMC · C · 650`.
fn bucket_short(id: &str) -> String {
    let labels = bucket_labels(id);
    if labels.is_empty() {
        id.strip_prefix("RL:").unwrap_or(id).to_string()
    } else {
        labels
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

pub(super) fn repline_section(p: &mut Page, r: &Repline) {
    let s = &r.summary;
    p.open_section("replines", "Rep-line error");
    p.kpis(&[
        (
            "Loan-level value",
            fmt::dollars_short(s.value_loans),
            fmt::opt(s.value_loans_bps, fmt::bp),
        ),
        (
            "Rep-line value",
            fmt::dollars_short(s.value_repline),
            fmt::opt(s.value_repline_bps, fmt::bp),
        ),
        (
            "Net error (rep − loans)",
            fmt::dollars_short_signed(s.diff),
            fmt::opt(s.diff_bps, fmt::bp_signed),
        ),
        (
            "Σ |error| over buckets",
            fmt::dollars_short(s.abs_diff),
            fmt::opt(s.abs_diff_bps, fmt::bp),
        ),
    ]);
    p.note(&format!(
        "{} loans ({} UPB) in {} rep lines ({} rows per line, valued {} faster) on keys: {}.{}",
        fmt::count(s.loans),
        fmt::dollars_short(s.upb),
        fmt::count(s.replines),
        fmt::number(s.compression_ratio, 1),
        fmt::opt(s.time_ratio, |x| format!("{}x", fmt::number(x, 1))),
        if s.keys.is_empty() {
            "none (one rep line)".to_string()
        } else {
            s.keys.join(", ")
        },
        if s.advance_dropped > 0.0 {
            format!(
                " Advances of {} on delinquent loans in current rep lines were dropped.",
                fmt::dollars(s.advance_dropped)
            )
        } else {
            String::new()
        }
    ));
    let mut top: Vec<&Bucket> = r.buckets.iter().collect();
    top.sort_by(|a, b| {
        b.diff
            .abs()
            .total_cmp(&a.diff.abs())
            .then(a.bucket.cmp(&b.bucket))
    });
    top.truncate(15);
    if !top.is_empty() {
        let chart = BarChart {
            id: "chart-repline-buckets".into(),
            title: format!(
                "Largest rep-line errors by bucket (rep line − loans, top {})",
                top.len()
            ),
            width: FULL,
            categories: top.iter().map(|b| bucket_short(&b.bucket)).collect(),
            series: vec![Series::new(
                "Rep line − loans",
                UP,
                top.iter().map(|b| b.diff).collect(),
            )],
            unit: Unit::Dollars,
            layout: BarLayout::Grouped,
            orientation: Orientation::Horizontal,
            value_labels: true,
            sign_colors: Some((UP, DOWN)),
            value_title: "rep-line value − loan-level value".into(),
        };
        p.figure(&chart.render());
    }
    let rows = top
        .iter()
        .map(|b| {
            vec![
                Code(b.bucket.clone()),
                Num(fmt::count(b.records)),
                Num(fmt::dollars(b.upb)),
                Num(fmt::dollars(b.value_loans)),
                Num(fmt::dollars(b.value_repline)),
                Num(fmt::dollars_signed(b.diff)),
                Num(fmt::opt(b.diff_bps, fmt::bp_signed)),
            ]
        })
        .collect();
    p.table(
        "table-repline-buckets",
        &[
            Col("bucket", false),
            Col("loans", true),
            Col("UPB", true),
            Col("loan-level", true),
            Col("rep line", true),
            Col("error", true),
            Col("error bp", true),
        ],
        rows,
        false,
    );
    if !r.all_buckets {
        p.note("repline_compare.parquet is absent: only the summary's largest buckets are shown.");
    }
    // Error by the label of one key, over every bucket.
    let key = ["dq_status", "investor", "note_rate"]
        .into_iter()
        .find(|k| s.keys.iter().any(|x| x == k));
    if let (true, Some(key)) = (r.all_buckets, key) {
        repline_by_key(p, &r.buckets, key);
    }
    p.close_section();
}

/// Net and absolute rep-line error by the label of `key`, in bp of the
/// label's UPB (a chart and its table).
fn repline_by_key(p: &mut Page, buckets: &[Bucket], key: &str) {
    // label -> (net $, Σ|diff| $, UPB, buckets)
    let mut agg: BTreeMap<String, (f64, f64, f64, u64)> = BTreeMap::new();
    for b in buckets {
        if let Some((_, label)) = bucket_labels(&b.bucket).into_iter().find(|(k, _)| k == key) {
            let e = agg.entry(label).or_default();
            e.0 += b.diff;
            e.1 += b.diff.abs();
            e.2 += b.upb;
            e.3 += 1;
        }
    }
    let order: Vec<String> = match key {
        "dq_status" => status_order(agg.keys().cloned()),
        "investor" => investor_order(agg.keys().cloned()),
        _ => {
            let mut v: Vec<String> = agg.keys().cloned().collect();
            v.sort_by(|a, b| {
                let f = |s: &str| s.parse::<f64>().unwrap_or(f64::INFINITY);
                f(a).total_cmp(&f(b))
            });
            v
        }
    };
    let bp = |x: f64, upb: f64| if upb > 0.0 { 1e4 * x / upb } else { f64::NAN };
    let chart = BarChart {
        id: "chart-repline-by-key".into(),
        title: format!("Rep-line error by {key}, all buckets (bp of the group's UPB)"),
        width: FULL,
        categories: order.clone(),
        series: vec![
            Series::new(
                "Net error",
                UP,
                order.iter().map(|k| bp(agg[k].0, agg[k].2)).collect(),
            ),
            Series::new(
                "Σ |error| over buckets",
                SEQUENTIAL[1],
                order.iter().map(|k| bp(agg[k].1, agg[k].2)).collect(),
            ),
        ],
        unit: Unit::Bp,
        layout: BarLayout::Grouped,
        orientation: Orientation::Vertical,
        value_labels: false,
        sign_colors: None,
        value_title: String::new(),
    };
    p.figure(&chart.render());
    let rows = order
        .iter()
        .map(|k| {
            let (net, abs, upb, n) = agg[k];
            vec![
                Text(k.clone()),
                Num(fmt::count(n)),
                Num(fmt::dollars(upb)),
                Num(fmt::dollars_signed(net)),
                Num(fmt::bp_signed(bp(net, upb))),
                Num(fmt::dollars(abs)),
                Num(fmt::bp(bp(abs, upb))),
            ]
        })
        .collect();
    p.table(
        "table-repline-by-key",
        &[
            Col(key, false),
            Col("buckets", true),
            Col("UPB", true),
            Col("net error", true),
            Col("net bp", true),
            Col("Σ |error|", true),
            Col("Σ |error| bp", true),
        ],
        rows,
        false,
    );
}
