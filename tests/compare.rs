//! PDE against particles: the rate in m of the marginal W1 distances.

mod common;
use common::*;
use mfpde::compare::{marginal, w1_marginal};
use mfpde::converge::fit_loglog;

#[test]
fn marginal_w1_falls_like_m_to_the_minus_half_on_the_quickstart() {
    let s = grid_setup("quickstart", &["dynamics.snapshots=2"]);
    let pde = run(&s);
    let rho = pde.densities.last().unwrap();
    let ms = [100usize, 1000, 10000];
    let seeds = 5;
    let d = s.grid.dim();
    let mut w1 = vec![vec![0.0; ms.len()]; d];
    for (i, &m) in ms.iter().enumerate() {
        for seed in 0..seeds {
            let mut o = s.particles.unwrap();
            o.m = m;
            o.seed = 100 + seed;
            let mut sw = swarm(&s, &o);
            run_swarm(&s, &o, &mut sw, &mut []);
            for (k, wk) in w1.iter_mut().enumerate() {
                let mut coords: Vec<f64> = sw.theta.chunks(d).map(|t| t[k]).collect();
                wk[i] += w1_marginal(&s.grid.edges(k), &marginal(&s.grid, rho, k), &mut coords)
                    / seeds as f64;
            }
        }
    }
    let mf: Vec<f64> = ms.iter().map(|&m| m as f64).collect();
    for (k, wk) in w1.iter().enumerate() {
        let p = fit_loglog(&mf, wk).slope;
        eprintln!("axis {}: mean W1 {wk:?}, slope {p:.3}", s.grid.names[k]);
        assert!(
            (-0.7..=-0.35).contains(&p),
            "axis {k}: slope {p} from {wk:?}"
        );
    }
}

#[test]
fn mfpde_converge_writes_slopes_floors_and_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("conv.h5");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args([
            "converge",
            root().join("grids/quickstart.toml").to_str().unwrap(),
        ])
        .args([
            "--m",
            "50,200,800",
            "--seeds",
            "2",
            "--cells",
            "32,64",
            "-o",
        ])
        .arg(&out)
        .args(["--set", "dynamics.t_end=0.5"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("slope") && table.contains("floor from") && table.contains("w1_a"),
        "{table}"
    );
    let f = hdf5_pure::File::open(&out).unwrap();
    let shape = |n: &str| {
        f.dataset(&format!("converge/{n}"))
            .unwrap()
            .shape()
            .unwrap()
    };
    // metrics: l1, w1_a, w1_w1, sw2, risk_gap, f_gap
    assert_eq!(shape("vs_m"), vec![6, 3]);
    assert_eq!(shape("vs_h"), vec![6, 2]);
    let slopes = f.dataset("converge/slope_m").unwrap().read_f64().unwrap();
    assert!(
        slopes.iter().all(|s| s.is_finite() && *s < 0.0),
        "{slopes:?}"
    );
    let vs = f.dataset("converge/vs_m").unwrap().read_f64().unwrap();
    assert!(vs.iter().all(|v| *v > 0.0));
    // the grid gap (PDE 32² against 64²): L1 nests, every entry positive;
    // for W1 it is the grid's error, far below the m = 50 particle error
    let gap = f.dataset("converge/grid_gap").unwrap().read_f64().unwrap();
    assert_eq!(gap.len(), 6);
    assert!(gap.iter().all(|g| g.is_finite() && *g > 0.0), "{gap:?}");
    for c in [1, 2] {
        assert!(
            gap[c] < vs[c * 3],
            "w1 grid gap {} vs {}",
            gap[c],
            vs[c * 3]
        );
    }
    assert!(table.contains("grid gap"), "{table}");
    // each slope is fitted over the m before its floor (at least 2 of 3)
    let pts = f
        .dataset("converge/slope_m_points")
        .unwrap()
        .read_f64()
        .unwrap();
    assert!(pts.iter().all(|p| (2.0..=3.0).contains(p)), "{pts:?}");
    assert!(
        std::fs::metadata(dir.path().join("conv_converge.png"))
            .unwrap()
            .len()
            > 10_000
    );
    // bad arguments are refused by name
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mfpde"))
        .args([
            "converge",
            root().join("grids/quickstart.toml").to_str().unwrap(),
            "--m",
            "1000,100",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--m"));
}
