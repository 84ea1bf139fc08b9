//! The kernel's passes against scalar formulas, across variants.

use super::*;
use rand::SeedableRng;

#[test]
fn lanes_cover_every_term_once() {
    let a: Vec<f64> = (0..21).map(|i| i as f64).collect();
    let b = vec![1.0; 21];
    let mut acc = [0.0; LANES];
    lanes_dot(Tanh::<false>, &mut acc, &a, &b);
    assert_eq!(lanes_sum(&acc), 210.0);
    assert_eq!(acc[4], 4.0 + 12.0 + 20.0);
}

/// Both passes agree with plain scalar sums in every variant this CPU
/// has (to the round-off of 150-term sums), and the two fused variants
/// give the same bits, for each kind of unit, with several d_w and a
/// trained or frozen; the velocity pass gives the same bits with σ kept
/// from the f pass (40 neurons: blocks of 16 on the tiles of 64 nodes of
/// K = 150, the last block and tile partial; one tile at K = 33).
#[test]
fn every_variant_computes_the_same_bits() {
    // two full tiles and a partial one; one tile of 33 (σ kept in place;
    // at 24 and 40 nodes a w·x̃ of these neurons rounds to ReLU's kink, 0,
    // where the pass's σ′ and the scalar formula's take different sides)
    for k in [150, 33] {
        variants_at(k);
    }
}

fn variants_at(k: usize) {
    let bump = Rbf { variance: 0.6 };
    for (dw, wax, act) in [
        (1, 1, UnitKind::Ridge(Activation::Tanh)),
        (2, 1, UnitKind::Ridge(Activation::Sigmoid)),
        (3, 0, UnitKind::Ridge(Activation::Erf)),
        (2, 1, UnitKind::Ridge(Activation::Relu)),
        (1, 1, UnitKind::Rbf(bump, 1)),
        (2, 0, UnitKind::Rbf(bump, 2)),
    ] {
        // the unit and ∂/∂w_c at node q, by the model's scalar formulas
        let net = crate::model::Network {
            activation: match act {
                UnitKind::Ridge(a) => a,
                UnitKind::Rbf(..) => Activation::Linear,
            },
            bias: false,
            frozen_a: None,
            dim_x: dw,
            reduced: None,
            rbf: matches!(act, UnitKind::Rbf(..)).then_some(bump),
        };
        let d = dw + wax;
        let lay = Layout {
            d,
            wax,
            frozen_a: (wax == 0).then_some(1.5),
        };
        let xs: Vec<f64> = (0..dw * k)
            .map(|i| ((i * 37) % 101) as f64 / 25.0 - 2.0)
            .collect();
        let nodes = Nodes { xs: &xs, k, dw };
        let c: Vec<f64> = (0..k)
            .map(|q| ((q * 13) % 17) as f64 / 170.0 - 0.05)
            .collect();
        let theta0: Vec<f64> = (0..40 * d)
            .map(|i| ((i * 29) % 31) as f64 / 8.0 - 2.0)
            .collect();
        let up = Update {
            c: &c,
            drift: Drift {
                weight_decay: 0.01,
                ito: 0.0,
            },
            dt: 0.1,
            amp: 0.05,
        };
        // σ kept from the f pass (where the unit allows) or evaluated
        // again in the velocity pass: the same bits
        let run_with = |simd: Simd, keep: bool| {
            let mut part = vec![0.0; k];
            let mut cache = vec![0.0; if keep { 40 * k } else { 0 }];
            f_pass(simd, act, lay, nodes, &theta0, &mut part, &mut cache);
            let mut theta = theta0.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            move_pass(simd, act, lay, nodes, up, &mut theta, &mut rng, &cache);
            (part, theta)
        };
        let run = |simd: Simd| run_with(simd, false);
        for simd in Simd::all_available() {
            let base = run(simd);
            assert_eq!(
                base,
                run_with(simd, true),
                "{act:?} {}: kept σ",
                simd.name()
            );
            // the f pass against a plain scalar sum
            for (q, p) in base.0.iter().enumerate() {
                let exact: f64 = theta0
                    .chunks(d)
                    .map(|th| {
                        let x: Vec<f64> = (0..dw).map(|c| xs[c * k + q]).collect();
                        lay.frozen_a.unwrap_or(th[0]) * net.unit(&th[wax..], &x)
                    })
                    .sum();
                assert!(
                    (p - exact).abs() < 1e-13,
                    "{act:?} {} q = {q}: {p} vs {exact}",
                    simd.name()
                );
            }
            // the velocity pass against the formula of docs/model.md §2, noise off
            let mut theta = theta0.clone();
            let still = Update { amp: 0.0, ..up };
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            move_pass(simd, act, lay, nodes, still, &mut theta, &mut rng, &[]);
            for (th0, th1) in theta0.chunks(d).zip(theta.chunks(d)) {
                let a = lay.frozen_a.unwrap_or(th0[0]);
                let w = &th0[wax..];
                let x = |q: usize| (0..dw).map(|c| xs[c * k + q]).collect::<Vec<f64>>();
                let g: f64 = (0..k).map(|q| c[q] * net.unit(w, &x(q))).sum();
                let mut want = vec![0.0; d];
                if wax == 1 {
                    want[0] = th0[0] + 0.1 * (-g - 0.01 * th0[0]);
                }
                for cc in 0..dw {
                    let gw: f64 = (0..k).map(|q| c[q] * net.dunit(w, &x(q), cc)).sum();
                    want[wax + cc] = th0[wax + cc] + 0.1 * (-a * gw - 0.01 * th0[wax + cc]);
                }
                for (x, y) in th1.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-14, "{act:?} {}: {x} vs {y}", simd.name());
                }
            }
        }
        // the fused variants agree to the bit, noise included
        if Simd::Avx2.available() && Simd::Avx512.available() {
            assert_eq!(run(Simd::Avx2), run(Simd::Avx512), "{act:?}");
        }
    }
}
