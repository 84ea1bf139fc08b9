//! The measurement behind the default limiter (README, "Choosing a
//! limiter"): L1 error and the error in E[a²] at t_end on the two problems
//! with exact solutions, for each limiter at 64², 128², 256². Prints its
//! table; run by hand:
//!
//! ```text
//! cargo test --release --test limiters -- --ignored --nocapture
//! ```

mod common;
use common::*;

#[test]
#[ignore]
fn limiter_table() {
    println!("| problem | limiter | cells | L1 error | E[a²] error | order (L1) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for problem in ["ou_exact", "linear_gaussian"] {
        for limiter in ["minmod", "van_leer", "mc"] {
            let mut prev = f64::NAN;
            for n in [64, 128, 256] {
                let sets = [
                    format!("grid.cells=[{n},{n}]"),
                    format!("solver.limiter=\"{limiter}\""),
                    "dynamics.snapshots=2".into(),
                ];
                let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
                let s = grid_setup(problem, &sets);
                let rec = run(&s);
                let d = rec.snapshots.last().unwrap();
                let (mean, cov) = if problem == "ou_exact" {
                    let e = (-1.0f64).exp();
                    let va = 0.64 * e * e + 0.25 * (1.0 - e * e);
                    let vw = 0.36 * e * e + 0.25 * (1.0 - e * e);
                    ([0.0, e], [va, 0.0, vw])
                } else {
                    linear_gaussian_moments(s.t_end, 1.0, 0.5, [0.5, -0.3], [0.36, 0.64])
                };
                let exact = gaussian2_cells(&s.grid, mean, cov);
                let err = l1(rec.densities.last().unwrap(), &exact, s.grid.cell_volume());
                let a2 = d.cov[0] + d.mean[0] * d.mean[0];
                let a2_exact = cov[0] + mean[0] * mean[0];
                println!(
                    "| {problem} | {limiter} | {n}² | {err:.3e} | {:+.2e} | {:.2} |",
                    a2 - a2_exact,
                    (prev / err).log2()
                );
                prev = err;
            }
        }
    }
}
