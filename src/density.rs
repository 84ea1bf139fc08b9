//! **A density that knows its grid**: cell averages ρ_i on a grid, or on a
//! slab of it ([`Slab`]: rows of axis 0 with halo rows of its neighbours).
//! The serial run is the one slab without a halo; a run split across
//! processes steps one slab each and fills halos from the neighbours
//! ([`exchange`] in one process; the same copies as messages between
//! processes).

use crate::grid::{Grid, Slab};

/// Cell averages on a slab of a grid (all of it, for the one slab), row
/// major on the slab's local grid (halo rows included).
#[derive(Debug, Clone, PartialEq)]
pub struct Density {
    pub slab: Slab,
    pub values: Vec<f64>,
}

impl Density {
    /// ρ on a whole grid (the one slab).
    ///
    /// # Panics
    /// If `values` is not one per cell.
    pub fn whole(grid: &Grid, values: Vec<f64>) -> Self {
        assert_eq!(values.len(), grid.len(), "one value per cell");
        Density {
            slab: Slab::whole(grid),
            values,
        }
    }

    /// A density of the whole grid cut into `parts` slabs with halos of
    /// `halo` rows, every halo filled.
    pub fn split(grid: &Grid, rho: &[f64], parts: usize, halo: usize) -> Vec<Self> {
        assert_eq!(rho.len(), grid.len(), "one value per cell");
        Slab::split(grid, parts, halo)
            .into_iter()
            .map(|slab| {
                let row = slab.row_len();
                let held = (slab.start - slab.below) * row..(slab.end + slab.above) * row;
                Density {
                    values: rho[held].to_vec(),
                    slab,
                }
            })
            .collect()
    }

    /// The interior's values (the slab's own cells).
    pub fn interior(&self) -> &[f64] {
        &self.values[self.slab.interior_cells()]
    }

    /// The whole grid's density from the interiors of its slabs, in order.
    pub fn gather(slabs: &[Density]) -> Vec<f64> {
        slabs.iter().flat_map(|d| d.interior()).copied().collect()
    }

    /// Fill every slab's halo rows from its neighbours' interiors.
    pub fn exchange(slabs: &mut [Density]) {
        let geometry: Vec<Slab> = slabs.iter().map(|d| d.slab.clone()).collect();
        let mut values: Vec<&mut [f64]> = slabs.iter_mut().map(|d| &mut d.values[..]).collect();
        exchange(&geometry, &mut values);
    }
}

/// Fill the halo rows of each of the neighbouring slabs `slabs` (in order
/// along axis 0) from the interiors beside them: `values[s]` holds slab s's
/// rows, halos included.
///
/// # Panics
/// If the slabs are not consecutive, or a halo is deeper than the interior
/// that fills it.
pub fn exchange(slabs: &[Slab], values: &mut [&mut [f64]]) {
    for s in 1..slabs.len() {
        let (lo, hi) = (&slabs[s - 1], &slabs[s]);
        assert_eq!(lo.end, hi.start, "consecutive slabs");
        assert!(lo.end - lo.start >= hi.below && hi.end - hi.start >= lo.above);
        let row = lo.row_len();
        let (left, right) = values.split_at_mut(s);
        let (a, b) = (&mut *left[s - 1], &mut *right[0]);
        // lo's halo above: hi's first interior rows
        let lo_rows = lo.end - lo.start + lo.below;
        let first = hi.below * row;
        a[lo_rows * row..(lo_rows + lo.above) * row]
            .copy_from_slice(&b[first..first + lo.above * row]);
        // hi's halo below: lo's last interior rows
        let last = lo_rows * row;
        b[..hi.below * row].copy_from_slice(&a[last - hi.below * row..last]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_exchange_and_gather_restore_the_whole() {
        let g = Grid::new(vec![0.0, 0.0], vec![1.0, 1.0], vec![9, 2], vec![]);
        let rho: Vec<f64> = (0..18).map(|i| i as f64).collect();
        let mut slabs = Density::split(&g, &rho, 3, 2);
        assert_eq!(Density::gather(&slabs), rho);
        // halos as cut: the neighbours' rows
        assert_eq!(slabs[1].values[..4], rho[2..6]);
        // spoil every halo, then exchange: the cut's values again
        let cut = slabs.clone();
        for d in &mut slabs {
            let inner = d.slab.interior_cells();
            for (i, v) in d.values.iter_mut().enumerate() {
                if !inner.contains(&i) {
                    *v = f64::NAN;
                }
            }
        }
        Density::exchange(&mut slabs);
        assert_eq!(slabs, cut);
        let one = Density::whole(&g, rho.clone());
        assert_eq!(one.interior(), &rho[..]);
    }
}
