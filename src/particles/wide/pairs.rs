//! **The population step's pairs for the erf unit**: κ and its two
//! derivatives at every (j, l) of a tile of the Gram matrix, as a loop the
//! compiler vectorises (no call: the arcsine is [`special::asin`], branch
//! free), compiled for each [`Simd`] variant and picked at run time.
//!
//! For erf (Williams 1997), with f_j = 1/√(1 + 2s²|w_j|²) and c = w_j·w_l,
//!
//! ```text
//! z = 2s² c f_j f_l,   κ = (2/π) asin z,   ∂κ/∂c = (2/π) 2s² f_j f_l / √(1 − z²),
//! ∂κ/∂q_j = −(2/π) z s² f_j² / √(1 − z²),
//! ```
//!
//! [`crate::model::kernel::Kernel`]'s closed form, with the factors of row j
//! (2s² f_j, s² f_j²) taken once per row. A row's sums over l run in
//! [`LANES`] fixed lanes (column l in lane l mod 8), added in a fixed order:
//! the bits depend neither on the thread count nor on the variant (no
//! fused multiply–add, no reassociation; tested).

use crate::model::special;
use crate::simd::Simd;
use std::f64::consts::FRAC_2_PI;

/// Lanes of a row's sums.
const LANES: usize = 8;

/// The columns of a tile: their factors f_l and weights a_l/m, and s².
#[derive(Debug, Clone, Copy)]
pub(super) struct Columns<'a> {
    pub s2: f64,
    pub f: &'a [f64],
    pub a: &'a [f64],
}

/// A tile's rows: for each row j (factor `f_rows[j]`) with Gram row
/// c = `gram[j·cols..]`, g_j += Σ_l a_l κ_jl (when `value`), o_j +=
/// Σ_l 2 a_l ∂κ_jl/∂q_j, and `coef[j·cols + l]` = a_l ∂κ_jl/∂c. `scratch`
/// holds 2 × cols.
#[allow(clippy::too_many_arguments)]
pub(super) fn erf_tile(
    simd: Simd,
    value: bool,
    cols: Columns,
    f_rows: &[f64],
    gram: &[f64],
    coef: &mut [f64],
    (g, o): (&mut [f64], &mut [f64]),
    scratch: &mut [f64],
) {
    crate::simd_run!(simd, {
        match value {
            true => erf_body::<true>(cols, f_rows, gram, coef, (g, o), scratch),
            false => erf_body::<false>(cols, f_rows, gram, coef, (g, o), scratch),
        }
    })
}

#[inline(always)]
fn erf_body<const VALUE: bool>(
    cols: Columns,
    f_rows: &[f64],
    gram: &[f64],
    coef: &mut [f64],
    (g, o): (&mut [f64], &mut [f64]),
    scratch: &mut [f64],
) {
    let n = cols.f.len();
    let s2 = cols.s2;
    let (sg, so) = scratch[..2 * n].split_at_mut(n);
    let rows = gram.chunks_exact(n).zip(coef.chunks_exact_mut(n));
    for (((crow, krow), &fj), (gj, oj)) in rows.zip(f_rows).zip(g.iter_mut().zip(o)) {
        let (cj, qj) = (2.0 * s2 * fj, s2 * fj * fj);
        let terms = sg.iter_mut().zip(so.iter_mut()).zip(krow);
        for (((vg, vo), kc), ((&c, &fl), &a)) in terms.zip(crow.iter().zip(cols.f).zip(cols.a)) {
            let z = (cj * c * fl).clamp(-1.0, 1.0);
            let dk = FRAC_2_PI / (1.0 - z * z).max(1e-300).sqrt();
            *vg = if VALUE {
                a * (FRAC_2_PI * special::asin(z))
            } else {
                0.0
            };
            *vo = 2.0 * a * (-(dk * z) * qj);
            *kc = a * (dk * cj * fl);
        }
        if VALUE {
            *gj += lanes_sum(sg);
        }
        *oj += lanes_sum(so);
    }
}

/// Σ v in [`LANES`] lanes (v_i in lane i mod LANES), the lanes added in a
/// fixed order.
#[inline(always)]
fn lanes_sum(v: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let mut chunks = v.chunks_exact(LANES);
    for c in &mut chunks {
        for (s, x) in acc.iter_mut().zip(c) {
            *s += x;
        }
    }
    for (s, x) in acc.iter_mut().zip(chunks.remainder()) {
        *s += x;
    }
    let (lo, hi) = acc.split_at(LANES / 2);
    lo.iter().zip(hi).map(|(x, y)| x + y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernel::Kernel;
    use crate::model::Activation;

    /// A tile of 5 rows × 37 columns (a remainder of the lanes), with
    /// Gram entries up to |z| = 1 (clamped) and at 0: every variant the CPU
    /// runs gives the same bits, and each entry is the scalar closed form's
    /// ([`Kernel::kappa_grad_with`]) within 8 ulp of the largest term (the
    /// row factors taken first reorder three products, and asin is within
    /// 2 ulp of the C library's), the sums within 8 ulp × 37 terms.
    #[test]
    fn the_erf_tile_is_the_closed_form_in_every_variant() {
        let s = 0.7;
        let k = Kernel::new(Activation::Erf, s);
        let (rows, n) = (5, 37);
        let q: Vec<f64> = (0..rows.max(n)).map(|i| 0.2 + 0.37 * i as f64).collect();
        let f: Vec<f64> = q.iter().map(|&q| k.factor(q)).collect();
        let a: Vec<f64> = (0..n).map(|l| (l as f64 - 17.0) / 100.0).collect();
        let mut gram = vec![0.0; rows * n];
        for j in 0..rows {
            for l in 0..n {
                // from −1.1 to 1.1 of √(q_j q_l), and 0
                let t = -1.1 + 2.2 * l as f64 / (n - 1) as f64;
                gram[j * n + l] = if l == n / 2 {
                    0.0
                } else {
                    t * (q[j] * q[l]).sqrt()
                };
            }
        }
        let cols = Columns {
            s2: s * s,
            f: &f[..n],
            a: &a,
        };
        let mut reference = None;
        for simd in Simd::all_available() {
            for value in [true, false] {
                let mut coef = vec![0.0; rows * n];
                let (mut g, mut o) = (vec![0.0; rows], vec![0.0; rows]);
                let mut scratch = vec![0.0; 2 * n];
                let go = (&mut g[..], &mut o[..]);
                erf_tile(
                    simd,
                    value,
                    cols,
                    &f[..rows],
                    &gram,
                    &mut coef,
                    go,
                    &mut scratch,
                );
                if !value {
                    assert!(g.iter().all(|&v| v == 0.0));
                    continue;
                }
                match &reference {
                    None => reference = Some((coef.clone(), g.clone(), o.clone())),
                    Some(r) => assert_eq!(r, &(coef.clone(), g.clone(), o.clone()), "{simd:?}"),
                }
                for j in 0..rows {
                    let (mut gs, mut os, mut scale) = (0.0, 0.0, 0.0f64);
                    for l in 0..n {
                        let (kv, kq, kc) = k.kappa_grad_with(f[j], f[l], gram[j * n + l]).unwrap();
                        let want = a[l] * kc;
                        let got = coef[j * n + l];
                        assert!(
                            (got - want).abs() <= 8.0 * f64::EPSILON * want.abs(),
                            "{got} {want}"
                        );
                        gs += a[l] * kv;
                        os += 2.0 * a[l] * kq;
                        scale = scale.max((a[l] * kv).abs()).max((2.0 * a[l] * kq).abs());
                    }
                    let tol = 8.0 * n as f64 * f64::EPSILON * scale;
                    assert!((g[j] - gs).abs() <= tol, "g {} {gs}", g[j]);
                    assert!((o[j] - os).abs() <= tol, "o {} {os}", o[j]);
                }
            }
        }
    }
}
