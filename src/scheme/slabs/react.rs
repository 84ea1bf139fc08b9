//! **Birth–death over slabs**: the reaction sub-step of
//! [`crate::scheme::reaction`] on every slab's interior, with what couples
//! the slabs added over them between its stages: g (hence Ψ) from the
//! summed first moments, and the sums of Φ̄ and of the mass (in slab order,
//! then over the ranks in rank order). One slab of the whole grid takes
//! the serial sub-step's arithmetic, to the bit.

use crate::density::Density;
use crate::diagnostics;
use crate::grid::{Grid, Slab};
use crate::model::MeanField;
use crate::ranks::Ranks;
use crate::scheme::reaction::{rescale, Reaction};

/// The reaction of this process's slabs.
pub struct SlabReaction {
    parts: Vec<Reaction>,
    /// Each slab's interior as a grid of its own.
    rows: Vec<Grid>,
    /// Every rank's two sums, and their lengths.
    all: Vec<f64>,
    twos: Vec<usize>,
    /// g at the w points of the whole density.
    g: Vec<f64>,
}

/// A slab's interior values.
fn interior_mut(d: &mut Density) -> &mut [f64] {
    let cells = d.slab.interior_cells();
    &mut d.values[cells]
}

impl SlabReaction {
    /// The reaction of `model` (α > 0) on `slabs` (this process's), of a
    /// run over `size` ranks (1: one process).
    pub fn new(model: &MeanField, slabs: &[Slab], size: usize) -> Self {
        let rows: Vec<Grid> = slabs.iter().map(|s| s.whole.rows(s.start..s.end)).collect();
        SlabReaction {
            parts: rows.iter().map(|g| Reaction::new(model, g)).collect(),
            rows,
            all: vec![0.0; 2 * size],
            twos: vec![2; size],
            g: vec![0.0; slabs[0].row_len()],
        }
    }

    /// The two sums added over this process's slabs, then over the ranks.
    fn total(&mut self, ranks: Option<&dyn Ranks>, here: [f64; 2]) -> [f64; 2] {
        let Some(ranks) = ranks else { return here };
        ranks.all_gather(&here, &self.twos, &mut self.all);
        let mut t = [0.0; 2];
        for s in self.all.chunks_exact(2) {
            t[0] += s[0];
            t[1] += s[1];
        }
        t
    }

    /// One step of the exact flow with Ψ frozen (as filled), of weight κ.
    fn frozen(&mut self, ranks: Option<&dyn Ranks>, slabs: &mut [Density], kappa: f64) {
        let mut here = [0.0; 2];
        for (r, d) in self.parts.iter_mut().zip(slabs.iter()) {
            let s = r.sums(d.interior());
            here[0] += s[0];
            here[1] += s[1];
        }
        let [mass, weighted] = self.total(ranks, here);
        if mass <= 0.0 || kappa == 0.0 {
            return;
        }
        let mut after = [0.0; 2];
        for ((r, g), d) in self.parts.iter().zip(&self.rows).zip(slabs.iter_mut()) {
            let v = interior_mut(d);
            r.exponentiate(v, kappa, weighted / mass);
            after[0] += diagnostics::mass(g, v);
        }
        let [after, _] = self.total(ranks, after);
        for d in slabs.iter_mut() {
            rescale(interior_mut(d), mass / after);
        }
    }

    /// Advance the slabs' interiors by Δt with Ψ at the midpoint, as
    /// [`Reaction::advance`]; `g_of` writes g at the w points of the whole
    /// density the slabs are of into its second argument (every rank calls
    /// it at once).
    pub fn advance(
        &mut self,
        ranks: Option<&dyn Ranks>,
        slabs: &mut [Density],
        dt: f64,
        g_of: &mut dyn FnMut(&[Density], &mut [f64]),
    ) {
        if dt == 0.0 {
            return;
        }
        for (r, d) in self.parts.iter_mut().zip(slabs.iter()) {
            r.keep(d.interior());
        }
        g_of(slabs, &mut self.g);
        let g = &self.g;
        self.parts.iter_mut().for_each(|r| r.psi_of_g(g));
        let half = self.parts[0].kappa(0.5 * dt);
        self.frozen(ranks, slabs, half);
        g_of(slabs, &mut self.g);
        let g = &self.g;
        self.parts.iter_mut().for_each(|r| r.psi_of_g(g));
        for (r, d) in self.parts.iter().zip(slabs.iter_mut()) {
            r.put_back(interior_mut(d));
        }
        let whole = self.parts[0].kappa(dt);
        self.frozen(ranks, slabs, whole);
    }
}
