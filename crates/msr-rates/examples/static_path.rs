//! Print the default configuration's static path (MODEL.md §C.3) as CSV,
//! `path,month,short_rate,mortgage_rate,discount`, at full precision, for
//! comparison with another implementation.
//!
//! Usage: `cargo run -p msr-rates --example static_path [months]` (default 480).

use msr_core::config::Config;
use msr_rates::RateModel;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let months = std::env::args().nth(1).map_or(Ok(480), |s| s.parse())?;
    let config = Config::default();
    let model = RateModel::from_config(&config.curve, &config.hull_white, &config.mortgage_rate)?;
    let path = model.static_path(months);
    println!("path,month,short_rate,mortgage_rate,discount");
    for t in 0..months {
        let (r, m, d) = (
            path.short_rate[[0, t]],
            path.mortgage_rate[[0, t]],
            path.discount[[0, t]],
        );
        println!("0,{},{r:?},{m:?},{d:?}", t + 1);
    }
    Ok(())
}
