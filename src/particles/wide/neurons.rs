//! What a run needs of the d-dimensional network ([`Neurons`]): its step,
//! state, restore and snapshot diagnostics, on one process or split over
//! ranks.

use super::{reduce_row, WideSwarm};
use crate::particles::neurons::Neurons;
use crate::particles::options::Mode;
use crate::particles::snapshot::ParticleDiagnostics;
use crate::particles::streams::noise_rng;
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

impl Neurons for WideSwarm {
    fn m(&self) -> usize {
        self.m
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn batch_word(&self) -> u128 {
        self.batch_rng.get_word_pos()
    }

    fn step(&mut self, dt: f64) {
        match self.mode {
            Mode::Sgd { batch } => self.sgd_gradients(batch),
            _ => self.population_gradients(self.trained, self.own.clone()),
        }
        let (s, drift, trained) = (1 + self.d, self.model.drift(), self.trained);
        let amp = (self.model.noise * dt).sqrt();
        let (seed, step, first) = (self.seed, self.steps, self.own.start);
        self.theta[self.own.start * s..self.own.end * s]
            .par_chunks_mut(s)
            .zip(self.grad.par_chunks(s))
            .enumerate()
            .with_min_len(64)
            .for_each(|(i, (th, gr))| {
                let mut rng = noise_rng(seed, first + i, step);
                let mut xi = || -> f64 {
                    if amp > 0.0 {
                        amp * rng.sample::<f64, _>(StandardNormal)
                    } else {
                        0.0
                    }
                };
                let a = th[0];
                for (wi, dgi) in th[1..].iter_mut().zip(&gr[1..]) {
                    *wi += dt * drift.w(a, *dgi, *wi) + xi();
                }
                if trained {
                    th[0] += dt * drift.a(a, gr[0]) + xi();
                }
            });
        self.steps += 1;
        match (&self.part, self.mode) {
            (None, _) => self.refresh_positions(),
            // the population step needs every w_l; sgd's wait for a snapshot
            (Some(_), Mode::Population) => self.share_rows(),
            (Some(_), _) => {}
        }
    }

    fn positions(&self) -> &[f64] {
        &self.pos
    }

    fn state(&self) -> &[f64] {
        &self.theta
    }

    fn restore(&mut self, state: &[f64], steps: u64, batch_word: u128) {
        let (steps, batch_word) = match &self.part {
            Some(p) => {
                // rank 0's state to every rank: its rows by scatter, then all
                let s = 1 + self.d;
                if p.root() {
                    assert_eq!(state.len(), self.theta.len(), "θ of m × (1 + d) values");
                }
                let mut mine = vec![0.0; self.own.len() * s];
                p.scatter(state, &mut mine, s);
                self.theta[self.own.start * s..self.own.end * s].copy_from_slice(&mine);
                let counters = p.share_counters(steps, batch_word);
                self.share_rows();
                counters
            }
            None => {
                assert_eq!(state.len(), self.theta.len(), "θ of m × (1 + d) values");
                self.theta.copy_from_slice(state);
                (steps, batch_word)
            }
        };
        self.steps = steps;
        self.batch_rng.set_word_pos(batch_word);
        self.refresh_positions();
    }

    fn first_non_finite(&self) -> Option<(usize, Vec<f64>)> {
        let s = 1 + self.d;
        let rows = &self.theta[self.own.start * s..self.own.end * s];
        let local = crate::particles::neurons::first_non_finite_value(rows);
        let local = local.map(|i| self.own.start + i / s);
        let j = match &self.part {
            Some(p) => p.first_bad(local)?,
            None => local?,
        };
        let mut pos = vec![0.0; self.dim()];
        if self.own.contains(&j) {
            reduce_row(
                &self.theta[j * s..(j + 1) * s],
                self.k,
                self.trained,
                &mut pos,
            );
            return Some((j, pos));
        }
        Some((j, Vec::new()))
    }

    /// Split over ranks, every rank calls it at once: θ is made current
    /// everywhere, each rank takes the exact risk's g_j of its neurons, and
    /// rank 0's diagnostics are the network's on one process (the others'
    /// are not taken).
    fn diagnostics(&mut self, t: f64, f_points: &[Vec<f64>]) -> ParticleDiagnostics {
        if self.part.is_some() {
            if self.mode != Mode::Population {
                self.share_rows();
            }
            self.refresh_positions();
        }
        // the exact risk's g_j, or the sampled risk's chunks, each rank its
        // share
        let exact = super::population_refusal(&self.model).is_none();
        let g = self.every_g();
        let sums = (!exact).then(|| self.shared_chunk_sums());
        // f̄_m at the nodes and the f points, each rank a share of them
        let quad = &self.model.quad;
        let mut points: Vec<Vec<f64>> = (0..quad.len()).map(|q| quad.node(q).to_vec()).collect();
        points.extend(f_points.iter().cloned());
        let mut f_nodes = self.f_shared(&points);
        let f_values = f_nodes.split_off(quad.len().min(f_nodes.len()));
        if self.part.as_ref().is_some_and(|p| !p.root()) {
            return ParticleDiagnostics {
                time: t,
                steps: self.steps,
                ..ParticleDiagnostics::default()
            };
        }
        let (dim, m) = (self.dim(), self.m as f64);
        let (mean, cov) = crate::particles::snapshot::moments(&self.pos, dim);
        let mut second = 0.0;
        for p in self.pos.chunks(dim) {
            for v in p {
                second += v * v / m;
            }
        }
        let (data, risk_se) = match (g, sums) {
            (Some(g), _) => self.exact_data_risk(&g),
            (None, sums) => self.sampled_estimate(&sums.unwrap_or_default(), &f_nodes),
        };
        ParticleDiagnostics {
            time: t,
            risk: data + self.model.decay_risk(second),
            risk_se,
            f_nodes,
            mean,
            cov,
            f_values,
            steps: self.steps,
            batch_word: self.batch_word(),
            ..ParticleDiagnostics::default()
        }
    }
}
