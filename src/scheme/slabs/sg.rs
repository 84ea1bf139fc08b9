//! **The sg scheme over slabs of rows** ([`SgStep`] split): Ψ frozen at the
//! step's start, then one backward-Euler sweep per axis, and a step whose
//! F_η rises undone and taken as two halves, as the whole grid's step.
//!
//! - Ψ = a g(w) + (λ/2)|θ|² needs the whole density only through g, hence
//!   through the first moments m1(w): each slab's share is summed in slab
//!   (rank) order, then every slab evaluates g and its own Ψ.
//! - The sweeps along the w axes are within a slab's rows. The sweep along
//!   a needs whole lines: the slabs' ρ and Ψ are transposed into pencils
//!   of whole columns ([`Pencils`]), swept there, and ρ transposed back.
//!   The axes go in the serial order (a first).
//! - F_η is a sum over the slabs (mass, |θ|², entropy, and on stretched
//!   cells the centre bias) in slab order, with f_h from the summed
//!   moments, the same on every rank: so is every halving.
//!
//! A line's solve is the serial one on the same values; what differs on
//! more than one slab is the order of the moments' and F_η's sums (and the
//! slabs' own coordinates of a), a few ulp of Ψ per step. The implicit
//! step is an L1 contraction (a Markov operator), so these do not grow.

use super::pencil::Pencils;
use super::react::SlabReaction;
use crate::density::Density;
use crate::diagnostics;
use crate::grid::lines::LineSweeper;
use crate::grid::{Grid, Slab};
use crate::model::MeanField;
use crate::ranks::{Ranks, Shared};
use crate::scheme::sg::{halving_steps, implicit_sweep, Act};
use crate::velocity::Velocity;

/// One slab's part: its interior's grid, Ψ, velocity and line sweeps.
struct Part {
    slab: Slab,
    rows: Grid,
    velocity: Velocity,
    sweeper: LineSweeper,
    psi: Vec<f64>,
    start: Vec<f64>,
}

/// The sg step over slabs of rows (in this process, or one per rank).
pub struct SlabSg {
    parts: Vec<Part>,
    ranks: Option<Shared>,
    model: MeanField,
    /// D = η/2, and the longest step.
    d: f64,
    dt_max: f64,
    /// The pencils of whole a lines: ρ's and Ψ's, and their sweeps.
    pencils: Pencils,
    rho_p: Vec<f64>,
    psi_p: Vec<f64>,
    along_a: LineSweeper,
    /// The whole grid's first moments, one slab's share, and every rank's.
    m1: Vec<f64>,
    share: Vec<f64>,
    every: Vec<f64>,
    /// Every rank's five sums of F_η, and the lengths gathered.
    sums: Vec<f64>,
    counts: Vec<usize>,
    fives: Vec<usize>,
    halvings: usize,
    /// Birth–death after each implicit sub-step, when α > 0.
    reaction: Option<SlabReaction>,
}

impl SlabSg {
    /// The sg step of `model` over `slabs` (consecutive, covering the grid,
    /// of any halo: sg reads none): every one in this process when `ranks`
    /// is None, else rank r's `slabs[r]`.
    ///
    /// # Panics
    /// If over ranks there is not one slab per rank.
    pub fn new(model: &MeanField, slabs: &[Slab], dt_max: f64, ranks: Option<Shared>) -> Self {
        let mine: &[Slab] = match &ranks {
            Some(r) => {
                assert_eq!(slabs.len(), r.size(), "one slab per rank");
                std::slice::from_ref(&slabs[r.rank()])
            }
            None => slabs,
        };
        let whole = &slabs[0].whole;
        let nw = slabs[0].row_len();
        let pencils = Pencils::new(slabs, ranks.as_deref());
        let n0 = whole.n[0];
        let size = ranks.as_ref().map_or(1, |r| r.size());
        SlabSg {
            parts: mine
                .iter()
                .map(|s| {
                    let rows = whole.rows(s.start..s.end);
                    let longest = rows.n.iter().copied().max().unwrap_or(1);
                    Part {
                        velocity: Velocity::new(model, &rows),
                        sweeper: LineSweeper::new(&rows, 2 * longest),
                        psi: vec![0.0; rows.len()],
                        start: vec![0.0; rows.len()],
                        rows,
                        slab: s.clone(),
                    }
                })
                .collect(),
            model: model.clone(),
            d: 0.5 * model.noise,
            dt_max,
            rho_p: vec![0.0; pencils.len()],
            psi_p: vec![0.0; pencils.len()],
            along_a: LineSweeper::longest(&pencils.grid, n0, 2 * n0),
            pencils,
            m1: vec![0.0; nw],
            share: vec![0.0; nw],
            every: vec![0.0; nw * size],
            sums: vec![0.0; 5 * size],
            counts: vec![nw; size],
            fives: vec![5; size],
            halvings: 0,
            reaction: (model.birth_death > 0.0).then(|| SlabReaction::new(model, mine, size)),
            ranks,
        }
    }

    /// Steps halved because F_η rose, since planning.
    pub fn halvings(&self) -> usize {
        self.halvings
    }

    /// Implicit: every step is stable; the longest is `solver.dt_max`.
    pub fn stable_dt(&self) -> f64 {
        self.dt_max
    }

    /// The whole density's first moments (shares summed in slab order,
    /// then rank order), g from them in every part.
    fn moments(&mut self, slabs: &[Density]) {
        self.m1.fill(0.0);
        for (p, d) in self.parts.iter().zip(slabs) {
            let rows = 0..p.rows.n[0];
            p.velocity
                .first_moments(d.interior(), rows, None, &mut self.share);
            for (m, s) in self.m1.iter_mut().zip(&self.share) {
                *m += s;
            }
        }
        if let Some(ranks) = &self.ranks {
            ranks.all_gather(&self.m1, &self.counts, &mut self.every);
            self.m1.fill(0.0);
            for share in self.every.chunks_exact(self.m1.len()) {
                for (m, s) in self.m1.iter_mut().zip(share) {
                    *m += s;
                }
            }
        }
        for p in &mut self.parts {
            p.velocity.eval_g_of_moments(&self.m1);
        }
    }

    /// f_h at the nodes of the whole density the `slabs` are of.
    pub fn f_nodes_of(&mut self, slabs: &[Density]) -> &[f64] {
        self.moments(slabs);
        self.parts[0].velocity.f_nodes()
    }

    /// f_h at `points` of the density of the last [`Self::f_nodes_of`].
    pub fn f_at_points(&self, points: &[Vec<f64>]) -> Vec<f64> {
        self.parts[0].velocity.f_at_points(points)
    }

    /// F_η of the whole density, in the centre-sum convention of the
    /// whole grid's step (the stored F, with the centre bias added back on
    /// stretched cells).
    fn free_energy(&mut self, slabs: &[Density]) -> f64 {
        self.moments(slabs);
        let reduced = self.model.reduction.is_some();
        // each slab's sums, added in slab order (rank order over ranks)
        let mut total = [0.0; 5];
        for (p, d) in self.parts.iter().zip(slabs) {
            let h = diagnostics::history_sums(&p.rows, d.interior(), reduced);
            let bias = match p.rows.is_uniform() {
                true => 0.0,
                false => diagnostics::centre_bias_of(&p.rows, d.interior()),
            };
            let here = [h[0], h[1], h[2], h[3], bias];
            match &self.ranks {
                Some(ranks) => {
                    ranks.all_gather(&here, &self.fives, &mut self.sums);
                    total = [0.0; 5];
                    for s in self.sums.chunks_exact(5) {
                        total.iter_mut().zip(s).for_each(|(t, v)| *t += v);
                    }
                }
                None => total.iter_mut().zip(&here).for_each(|(t, v)| *t += v),
            }
        }
        let f_nodes = self.parts[0].velocity.f_nodes();
        let sums = [total[0], total[1], total[2], total[3]];
        let (_, _, f) = diagnostics::energies_of(&self.model, f_nodes, &sums);
        f + 0.5 * self.model.weight_decay * total[4]
    }

    /// Ψ of the density in every slab, then one sweep per axis with it:
    /// along a on the pencils, then along each w axis in the slabs.
    fn frozen_step(&mut self, slabs: &mut [Density], dt: f64) {
        self.moments(slabs);
        for p in &mut self.parts {
            p.velocity.psi_cells(&mut p.psi);
        }
        let ranks: Option<&dyn Ranks> = self.ranks.as_deref();
        let whole = self.parts.len() == 1 && self.parts[0].rows.n[0] == self.pencils.grid.n[0];
        if whole {
            // one slab holds the whole grid: the serial sweep
            let p = &self.parts[0];
            implicit_sweep(&p.sweeper, 0, &mut slabs[0].values, &p.psi, dt, self.d);
        } else {
            let rho = slabs.iter().map(Density::interior);
            self.pencils.columns_of(ranks, rho, &mut self.rho_p);
            let psi = self.parts.iter().map(|p| &p.psi[..]);
            self.pencils.columns_of(ranks, psi, &mut self.psi_p);
            implicit_sweep(&self.along_a, 0, &mut self.rho_p, &self.psi_p, dt, self.d);
            let rho = slabs.iter_mut().map(|d| {
                let cells = d.slab.interior_cells();
                &mut d.values[cells]
            });
            self.pencils.rows_of(ranks, &self.rho_p, rho);
        }
        for (p, d) in self.parts.iter().zip(slabs.iter_mut()) {
            let cells = p.slab.interior_cells();
            for k in 1..p.rows.dim() {
                implicit_sweep(
                    &p.sweeper,
                    k,
                    &mut d.values[cells.clone()],
                    &p.psi,
                    dt,
                    self.d,
                );
            }
        }
    }

    /// Birth–death over `dt` after an implicit sub-step, as the whole
    /// grid's sg step takes it.
    fn react(&mut self, slabs: &mut [Density], dt: f64) {
        let Some(mut r) = self.reaction.take() else {
            return;
        };
        let ranks = self.ranks.clone();
        r.advance(ranks.as_deref(), slabs, dt, &mut |s, g| {
            self.moments(s);
            g.copy_from_slice(self.parts[0].velocity.g());
        });
        self.reaction = Some(r);
    }

    /// One step of length `dt` of every slab's interior, as
    /// [`SgStep`](crate::scheme::SgStep)'s: a sub-step whose F_η rises
    /// beyond round-off is undone and halved (the decision is the same on
    /// every rank: F_η is).
    pub fn step(&mut self, slabs: &mut [Density], dt: f64) {
        let f = self.free_energy(slabs);
        self.halvings += halving_steps(dt, f, |act| match act {
            Act::Take(h) => {
                for (p, d) in self.parts.iter_mut().zip(slabs.iter()) {
                    p.start.copy_from_slice(d.interior());
                }
                self.frozen_step(slabs, h);
                self.react(slabs, h);
                self.free_energy(slabs)
            }
            Act::Undo => {
                for (p, d) in self.parts.iter().zip(slabs.iter_mut()) {
                    let cells = p.slab.interior_cells();
                    d.values[cells].copy_from_slice(&p.start);
                }
                0.0
            }
        });
    }
}

/// Why `model` cannot be stepped by sg over slabs of rows of a: a frozen a
/// (no a axis to split) or a 1-D grid, by field name.
///
/// # Errors
/// [`crate::error::Error::Problem`] naming `model.train_a`.
pub fn refusal(model: &MeanField, grid: &Grid) -> crate::error::Result<()> {
    if model.net.frozen_a.is_some() || grid.dim() < 2 {
        return Err(crate::error::Error::problem(
            "model.train_a",
            "false (or a 1-D grid)",
            "a trained a and w axes: slabs split the a axis",
        ));
    }
    Ok(())
}
