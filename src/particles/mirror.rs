//! **Folding the ±x node pairs** of an odd unit: one evaluation per pair.

use super::options::Mode;
use crate::model::MeanField;

/// An odd unit (tanh, erf, linear) on population nodes closed under
/// x̃ → −x̃ (a centred P without bias: Gauss–Hermite, Gauss–Legendre on a
/// symmetric box). σ(−z) = −σ(z) and σ′ is even, so f_m(−x̃) = −f_m(x̃)
/// exactly, and a pair (x̃_q, x̃_p = −x̃_q) enters g and ∇_w g through
/// c_q − c_p alone (c = ω r): one evaluation per pair instead of two.
#[derive(Debug, Clone)]
pub(super) struct Mirror {
    /// A representative node q and its partner p (None when x̃_q = 0).
    pub pairs: Vec<(usize, Option<usize>)>,
    /// x̃ of the representatives, coordinate-major.
    pub xt: Vec<f64>,
}

impl Mirror {
    /// Pairs of two distinct nodes (evaluated once for both).
    pub fn folded(&self) -> usize {
        self.pairs.iter().filter(|p| p.1.is_some()).count()
    }

    /// The folding of a model's population nodes (x̃ coordinate-major in
    /// `pop_xt`), when its unit is odd and a step of `mode` uses them.
    pub fn of(model: &MeanField, mode: Mode, pop_xt: &[f64]) -> Option<Mirror> {
        match mode {
            Mode::Sgd { .. } => None,
            _ if model.net.rbf.is_none() && model.net.activation.is_odd() => {
                Mirror::find(pop_xt, model.quad.len(), model.net.dim_w())
            }
            _ => None,
        }
    }

    /// The pairing of a coordinate-major d_w × k table, if it is closed
    /// under negation (exactly, as multisets).
    fn find(xt: &[f64], k: usize, dw: usize) -> Option<Mirror> {
        // + 0.0 turns −0 into 0
        let key = |i: usize| (0..dw).map(move |c| xt[c * k + i] + 0.0);
        let mut idx: Vec<usize> = (0..k).collect();
        idx.sort_by(|&i, &j| {
            key(i)
                .partial_cmp(key(j))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        // negation reverses the lexicographic order
        for s in 0..k {
            if !key(idx[s]).zip(key(idx[k - 1 - s])).all(|(a, b)| a == -b) {
                return None;
            }
        }
        let pairs: Vec<(usize, Option<usize>)> = (0..k.div_ceil(2))
            .map(|s| (idx[s], (s != k - 1 - s).then_some(idx[k - 1 - s])))
            .collect();
        let h = pairs.len();
        let mut half = vec![0.0; dw * h];
        for (i, &(q, _)) in pairs.iter().enumerate() {
            for c in 0..dw {
                half[c * h + i] = xt[c * k + q];
            }
        }
        Some(Mirror { pairs, xt: half })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_tables_pair_up_and_others_do_not() {
        // d_w = 2, nodes (1, 2), (0, 0), (−1, −2)
        let xt = [1.0, 0.0, -1.0, 2.0, 0.0, -2.0];
        let mr = Mirror::find(&xt, 3, 2).unwrap();
        assert_eq!(mr.folded(), 1);
        assert_eq!(mr.pairs.len(), 2);
        assert!(Mirror::find(&[1.0, 0.5, -1.0], 3, 1).is_none());
    }
}
