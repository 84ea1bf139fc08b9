//! PDE against particles: the rate in m of the marginal W1 distances.

mod common;
use common::*;
use mfpde::compare::{marginal, w1_marginal};
use mfpde::particles;

/// Least-squares slope of log y against log x.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let n = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = lx.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}

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
            let mut sw = particles::Swarm::new(&s, &o);
            particles::run_with(&s, &o, &mut sw, &mut []).unwrap();
            for (k, wk) in w1.iter_mut().enumerate() {
                let mut coords: Vec<f64> = sw.theta.chunks(d).map(|t| t[k]).collect();
                wk[i] += w1_marginal(&s.grid.edges(k), &marginal(&s.grid, rho, k), &mut coords)
                    / seeds as f64;
            }
        }
    }
    let mf: Vec<f64> = ms.iter().map(|&m| m as f64).collect();
    for (k, wk) in w1.iter().enumerate() {
        let p = slope(&mf, wk);
        eprintln!("axis {}: mean W1 {wk:?}, slope {p:.3}", s.grid.names[k]);
        assert!(
            (-0.7..=-0.35).contains(&p),
            "axis {k}: slope {p} from {wk:?}"
        );
    }
}
