//! The information-exponent study's exponent 1 (grids/info_exponent.toml
//! with k = 1, README "Studies"): the halfway time of the risk does not grow
//! with d.
//!
//! With k = 1 the unit σ₁(z) = He₁(z) is linear, and with the output
//! weights frozen at 1 the network is f(x) = ∫ w·x dρ = m u·x with
//! m = ∫ p dρ (the orthogonal parts average out): every unit's p moves at
//! the same speed E[(f* − f) u·x] = 1 − m, so m = 1 − e^{−t},
//! R = ½ e^{−2t}, and the halfway time (R = ¼) is ln 2 / 2 at every d.

mod common;
use common::{mfpde_ok, root, study_series, sweep_ok};

/// The exact halfway time of exponent 1, at every d.
const EXACT: f64 = std::f64::consts::LN_2 / 2.0;

/// The PDE's halfway times at d = 40 and 10⁴, each on two grids (the
/// second 1.5× finer on every axis), against the exact ln 2 / 2. The
/// velocity is the same in every cell, but the PDE's ∫p dρ moves at exactly
/// that speed only on uniform cells: on the stretched p axis the face
/// values and the distances between centres leave an error of the grid's
/// order.
///
/// Tolerances: a scheme of order q ≥ 1 leaves the finer grid an error of
/// |T_coarse − T_fine| / (1.5^q − 1) ≤ 2 |T_coarse − T_fine|; the risk is
/// read off the history at every step, linear between steps, an error of
/// Δt² |R″| / (8 |R′|) ≈ 1e-5 at Δt = 0.01; 1e-4 covers it. So
/// - at each d, |T_fine − T_exact| ≤ 2 |T_coarse − T_fine| + 1e-4;
/// - the PDE's change from d = 40 to 10⁴ is below the sum of both grid
///   errors: the halfway time is independent of d within the grid's own
///   error.
#[test]
fn exponent_one_halfway_time_is_independent_of_d() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("k1.toml");
    let (s40, s1e4) = (1.0 / 40f64.sqrt(), 0.01);
    std::fs::write(
        &study,
        format!(
            r#"base = "{base}"
command = "pde"
combine = "zip"
measures = ["time_below(0.25)"]
[set]
"model.degree" = 1
"target.expression" = "u1"
"dynamics.t_end" = 0.4
"dynamics.snapshots" = 3
[[axes]]
key = "data.dim"
values = [40, 10000, 40, 10000]
[[axes]]
key = "initial.std"
values = [[{s40}], [{s1e4}], [{s40}], [{s1e4}]]
[[axes]]
key = "grid.map.p1.width"
name = "p_width"
values = [{s40}, {s1e4}, {s40}, {s1e4}]
[[axes]]
key = "grid.map.r.width"
name = "r_width"
values = [{r40}, {r1e4}, {r40}, {r1e4}]
[[axes]]
key = "grid.cells"
values = [[80, 24], [80, 24], [120, 36], [120, 36]]
"#,
            base = root().join("grids").join("info_exponent.toml").display(),
            r40 = s40 / 2.0,
            r1e4 = s1e4 / 2.0,
        ),
    )
    .unwrap();
    let out = dir.path().join("k1.h5");
    sweep_ok(&study, &out, 2);
    let t = study_series(&out, "time_below_0.25");
    let (coarse, fine) = ([t[0], t[1]], [t[2], t[3]]);
    eprintln!("halfway times: coarse {coarse:?}, fine {fine:?}, exact {EXACT}");
    let mut grid_error = [0.0; 2];
    for i in 0..2 {
        grid_error[i] = 2.0 * (coarse[i] - fine[i]).abs() + 1e-4;
        assert!(
            (fine[i] - EXACT).abs() <= grid_error[i],
            "d = {}: T {} against the exact {EXACT} (bound {})",
            [40, 10000][i],
            fine[i],
            grid_error[i]
        );
    }
    let change = fine[1] - fine[0];
    assert!(
        change.abs() <= grid_error[0] + grid_error[1],
        "from d = 40 to 10⁴ the PDE's halfway time moves {change}"
    );
}

/// Exponent 2: near p = 0 a unit's overlap grows as p0 e^{2t} (the drift
/// on p is 2p at |w| = 1), so ∫p² dρ = e^{4t}/d, and the risk falls once
/// that is O(1): the halfway time is α + ¼ ln d, the nonlinear end of the
/// escape adding a constant. The PDE at d = 160 … 10⁴ on
/// grids/info_exponent.toml's grid (its halfway time there is within
/// 1e-3 of a grid 2× finer at d = 10⁴, measured: 2.1353 and 2.1362) is fitted by least
/// squares against ln d; the slope must be ¼ within 3 standard errors of
/// the fit (the standard error from the residuals, which hold both the
/// grids' errors and the O(1/d) corrections that d = 40 would add most
/// of, so d = 40 is left out).
///
/// Run by CI (.ci/run), about a minute on 2 cores (with the k = 3 test: 4):
/// cargo test --release --test information -- --ignored
#[test]
#[ignore]
fn exponent_two_halfway_time_grows_as_a_quarter_of_log_d() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("k2.toml");
    let ds = [160.0f64, 640.0, 2560.0, 10000.0];
    let list = |f: &dyn Fn(f64) -> String| ds.iter().map(|&d| f(d)).collect::<Vec<_>>().join(", ");
    std::fs::write(
        &study,
        format!(
            r#"base = "{base}"
command = "pde"
combine = "zip"
measures = ["time_below(0.25)"]
[set]
"model.degree" = 2
"target.expression" = "(u1^2 - 1)/sqrt(2)"
"dynamics.t_end" = 2.3
"dynamics.snapshots" = 3
[[axes]]
key = "data.dim"
values = [{d}]
[[axes]]
key = "initial.std"
values = [{s}]
[[axes]]
key = "grid.map.p1.width"
name = "p_width"
values = [{w}]
[[axes]]
key = "grid.map.r.width"
name = "r_width"
values = [{r}]
"#,
            base = root().join("grids").join("info_exponent.toml").display(),
            d = list(&|d| d.to_string()),
            s = list(&|d| format!("[{}]", 1.0 / d.sqrt())),
            w = list(&|d| (1.0 / d.sqrt()).to_string()),
            r = list(&|d| (0.5 / d.sqrt()).to_string()),
        ),
    )
    .unwrap();
    let out = dir.path().join("k2.h5");
    sweep_ok(&study, &out, 2);
    let t = study_series(&out, "time_below_0.25");
    let ln_d: Vec<f64> = ds.iter().map(|d| d.ln()).collect();
    let fit = mfpde::fit::fit_line(&ln_d, &t);
    eprintln!(
        "halfway times {t:?}: slope in ln d {} ± {}",
        fit.slope, fit.stderr
    );
    assert!(
        t.iter().all(|v| v.is_finite()),
        "every point is halfway by t_end"
    );
    assert!(
        (fit.slope - 0.25).abs() <= 3.0 * fit.stderr,
        "slope {} ± {} against ¼",
        fit.slope,
        fit.stderr
    );
}

/// Exponent 3 at d = 40 past its escape: the first units run off to the
/// far end of the p axis, and V at u1 (Heun's second stage) reached 14×
/// the V at ρ that set Δt: the second stage's CFL number went up to 6.9,
/// ρ went negative (−4.8e-4 of its largest at t = 5.46) and the guard
/// stopped the run. Such a step is now taken again in halves
/// (scheme::advection::step): the run completes with ρ ≥ −1e-8 of its
/// largest at every snapshot, and its mass conserved to round-off.
///
/// Run by CI (.ci/run), about 3 minutes on 2 cores:
/// cargo test --release --test information -- --ignored
#[test]
#[ignore]
fn exponent_three_runs_past_its_escape_without_negative_density() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k3.h5");
    let s = 1.0 / 40f64.sqrt();
    mfpde_ok([
        "pde".to_string(),
        root()
            .join("grids")
            .join("info_exponent.toml")
            .display()
            .to_string(),
        "-o".into(),
        out.display().to_string(),
        "--no-plots".into(),
        "-q".into(),
        "--set".into(),
        "model.degree=3".into(),
        "--set".into(),
        "target.expression=\"(u1^3 - 3*u1)/sqrt(6)\"".into(),
        "--set".into(),
        format!("initial.std=[{s}]"),
        "--set".into(),
        format!("grid.map.p1.width={s}"),
        "--set".into(),
        format!("grid.map.r.width={}", s / 2.0),
        "--set".into(),
        "dynamics.t_end=5.8".into(),
        "--set".into(),
        "dynamics.snapshots=30".into(),
    ]);
    let f = mfpde::io::hdf5::PdeFile::read(&out).unwrap();
    assert_eq!(f.status, "complete");
    assert_eq!(f.time.last().copied(), Some(5.8));
    for (i, (m, lo)) in f.mass.iter().zip(&f.min_density).enumerate() {
        let hi = f.density[i].iter().cloned().fold(0.0, f64::max);
        assert!((m - 1.0).abs() < 1e-12, "snapshot {i}: mass {m}");
        assert!(*lo >= -1e-8 * hi, "snapshot {i}: min ρ {lo} of max {hi}");
    }
}
