//! **Where a run's snapshots go**: one [`Sink`] holds the store and the
//! listener; the adapters here are the observers of the PDE, the particles
//! and the distances that write each snapshot to the store first and then
//! tell the listener (so a printed line is a written snapshot).

use super::Listener;
use crate::compare::{CompareObserver, CompareRow};
use crate::diagnostics::{Diagnostics, PdeRecord};
use crate::error::Result;
use crate::io::store::{Parts, Record, Store};
use crate::particles::{Neurons, ParticleDiagnostics, ParticleObserver, ParticleRecord};
use crate::solve::{HistoryRecord, Observer};
use std::sync::Mutex;

/// The store and the listener of a run, shared by its observers.
pub struct Sink<'a> {
    store: Mutex<&'a mut dyn Store>,
    listener: Mutex<&'a mut dyn Listener>,
}

impl<'a> Sink<'a> {
    pub fn new(store: &'a mut dyn Store, listener: &'a mut dyn Listener) -> Self {
        Sink {
            store: Mutex::new(store),
            listener: Mutex::new(listener),
        }
    }

    /// Act on the store.
    pub fn store<T>(&self, f: impl FnOnce(&mut dyn Store) -> Result<T>) -> Result<T> {
        let mut s = self.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut **s)
    }

    /// Tell the listener.
    pub fn tell(&self, f: impl FnOnce(&mut dyn Listener)) {
        let mut l = self.listener.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut **l)
    }

    /// Stop with [`crate::Error::Interrupted`] (`at`: where) when the
    /// listener asks.
    pub fn stop_if_asked(&self, at: impl FnOnce() -> String) -> Result<()> {
        let mut l = self.listener.lock().unwrap_or_else(|p| p.into_inner());
        match l.interrupted() {
            true => Err(crate::Error::Interrupted(at())),
            false => Ok(()),
        }
    }
}

/// Writes the PDE's snapshots to `/pde` and its light history to
/// `/history` (the rows since the last snapshot go with it).
pub struct PdeOut<'s, 'a> {
    pub sink: &'s Sink<'a>,
    pub rows: Vec<HistoryRecord>,
}

impl PdeOut<'_, '_> {
    /// Write a snapshot (with the history rows kept since the last) by
    /// `append`, then tell the listener.
    fn write(
        &mut self,
        d: &Diagnostics,
        append: impl FnOnce(&mut dyn Store) -> Result<()>,
    ) -> Result<()> {
        let rows: Vec<_> = self.rows.iter().map(|r| r.vars()).collect();
        self.sink.store(|s| {
            s.append_rows(history_group(), &rows)?;
            append(s)
        })?;
        self.rows.clear();
        self.sink.tell(|l| l.pde(d));
        Ok(())
    }
}

impl Observer for PdeOut<'_, '_> {
    fn snapshot(&mut self, d: &Diagnostics, rho: &[f64]) -> Result<()> {
        let rec = PdeRecord { diag: d, rho };
        self.write(d, |s| s.append(rec.group(), &rec.vars(), None))
    }

    fn takes_parts(&self) -> bool {
        true
    }

    fn snapshot_parts(&mut self, d: &Diagnostics, rho: &mut dyn Parts) -> Result<()> {
        let rec = PdeRecord { diag: d, rho: &[] };
        let mut vars = rec.vars();
        let at = vars
            .iter()
            .position(|v| v.spec.name == "density")
            .expect("a PDE record holds the density");
        let field = vars.remove(at).spec;
        self.write(d, |s| s.append_parts(rec.group(), &vars, (at, field), rho))
    }

    fn history(&mut self, rec: &HistoryRecord) -> Result<()> {
        self.rows.push(*rec);
        self.sink.tell(|l| l.history(rec));
        Ok(())
    }

    fn step(&mut self, t: f64, dt: f64, _rho: &[f64]) -> Result<()> {
        self.sink.tell(|l| l.step(t, dt));
        self.sink
            .stop_if_asked(|| format!("after the PDE step to t = {t}"))
    }

    fn finish(&mut self) -> Result<()> {
        let kept = std::mem::take(&mut self.rows);
        let rows: Vec<_> = kept.iter().map(|r| r.vars()).collect();
        self.sink.store(|s| s.append_rows(history_group(), &rows))
    }
}

/// Writes the particles' snapshots to `/particles`: the first `store`
/// neurons' positions, and their whole state when `checkpoint`.
pub struct ParticlesOut<'s, 'a> {
    pub sink: &'s Sink<'a>,
    pub stored: usize,
    pub checkpoint: bool,
    /// Whether neurons outside the grid were warned about.
    pub warned: bool,
}

impl ParticleObserver for ParticlesOut<'_, '_> {
    fn snapshot(&mut self, d: &ParticleDiagnostics, neurons: &dyn Neurons) -> Result<()> {
        let theta = neurons.positions();
        let dim = theta.len() / neurons.m();
        let rec = ParticleRecord {
            diag: d,
            positions: &theta[..self.stored * dim],
        };
        let state = self.checkpoint.then(|| neurons.state());
        self.sink
            .store(|s| s.append(rec.group(), &rec.vars(), state))?;
        if d.outside > crate::solve::BOUNDARY_WARNING && !self.warned {
            self.warned = true;
            eprintln!(
                "warning: at t = {} a fraction {:.2e} of the neurons is outside the grid's box (above {}): histograms and distances miss them; widen grid.lo, grid.hi, or shorten particles.dt if they diverge",
                d.time,
                d.outside,
                crate::solve::BOUNDARY_WARNING
            );
        }
        self.sink.tell(|l| l.particles(d));
        self.sink
            .stop_if_asked(|| format!("after the particle snapshot at t = {}", d.time))
    }
}

/// Writes the distances to `/compare`.
pub struct CompareOut<'s, 'a> {
    pub sink: &'s Sink<'a>,
}

impl CompareObserver for CompareOut<'_, '_> {
    fn row(&mut self, r: &CompareRow) -> Result<()> {
        self.sink.store(|s| s.append(r.group(), &r.vars(), None))?;
        self.sink.tell(|l| l.compare(r));
        Ok(())
    }
}

/// The history rows' group, as [`HistoryRecord`] names it.
pub fn history_group() -> &'static str {
    HistoryRecord::default().group()
}
