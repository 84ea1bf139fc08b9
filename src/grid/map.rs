//! **Stretched axes**: an axis whose cells are not all of one width. Its
//! edges are X(i/n), i = 0..n, for a smooth increasing map X of [0, 1] onto
//! [lo, hi] (so refining the axis refines the same map: the scheme's order
//! holds on it), or given outright.
//!
//! - `sinh`: X(s) = c + W sinh(A + (B − A) s), A = asinh((lo − c)/W),
//!   B = asinh((hi − c)/W): cells of about W (B − A)/n near the centre c,
//!   growing exponentially beyond |θ − c| ≈ W. For a law whose spread is
//!   far below the box (a small initialisation that must still reach
//!   O(1)).
//! - `geometric`: X(s) = lo + L (e^{βs} − 1)/(e^β − 1), β = ln(ratio): cells
//!   in geometric progression from the lower wall (from the upper one with
//!   `from = "hi"`), the last about `ratio` times the first. For a wall
//!   such as r = 0.
//! - `edges`: the n + 1 edges, lo first and hi last.
//!
//! Cell centres are the midpoints of the edges, so the midpoint rule of
//! every cell integral stays second order.

use serde::{Deserialize, Serialize};

/// `[grid.map.<axis>]`: how one axis's cells are laid out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AxisMap {
    /// Cells of one width (hi − lo)/n: what an axis without a map has.
    Uniform,
    /// Fine near `centre`, for |θ − centre| below about `width`.
    Sinh { centre: f64, width: f64 },
    /// A geometric progression from a wall, the last cell about `ratio`
    /// times the first.
    Geometric {
        ratio: f64,
        /// The wall of the finest cell: "lo" (default) or "hi".
        #[serde(default = "default_from")]
        from: String,
    },
    /// The n + 1 edges outright.
    Edges { edges: Vec<f64> },
}

fn default_from() -> String {
    "lo".into()
}

/// Why a map cannot lay out an axis: (what was given, what is allowed).
pub type MapError = (String, String);

impl AxisMap {
    /// The n + 1 edges of the axis [lo, hi] (lo and hi exactly), or what is
    /// wrong with the map.
    pub fn edges(&self, lo: f64, hi: f64, n: usize) -> Result<Vec<f64>, MapError> {
        let of = |x: &dyn Fn(f64) -> f64| -> Vec<f64> {
            let mut e: Vec<f64> = (0..=n).map(|i| x(i as f64 / n as f64)).collect();
            e[0] = lo;
            e[n] = hi;
            e
        };
        let e = match self {
            AxisMap::Uniform => of(&|s| lo + (hi - lo) * s),
            AxisMap::Sinh { centre, width } => {
                let (c, w) = (*centre, *width);
                if !(w > 0.0 && w.is_finite() && c.is_finite()) {
                    return Err((
                        format!("centre = {c}, width = {w}"),
                        "a finite centre and a positive width".into(),
                    ));
                }
                let (a, b) = (((lo - c) / w).asinh(), ((hi - c) / w).asinh());
                of(&|s| c + w * (a + (b - a) * s).sinh())
            }
            AxisMap::Geometric { ratio, from } => {
                if !(*ratio > 0.0 && ratio.is_finite()) || !(from == "lo" || from == "hi") {
                    return Err((
                        format!("ratio = {ratio}, from = {from:?}"),
                        "a positive ratio and from = \"lo\" or \"hi\"".into(),
                    ));
                }
                let beta = ratio.ln();
                let u = |s: f64| {
                    if beta.abs() < 1e-12 {
                        s
                    } else {
                        (beta * s).exp_m1() / beta.exp_m1()
                    }
                };
                if from == "lo" {
                    of(&|s| lo + (hi - lo) * u(s))
                } else {
                    of(&|s| hi - (hi - lo) * u(1.0 - s))
                }
            }
            AxisMap::Edges { edges } => {
                if edges.len() != n + 1 {
                    return Err((
                        format!("{} edges", edges.len()),
                        format!("cells + 1 = {} edges", n + 1),
                    ));
                }
                if edges[0] != lo || edges[n] != hi {
                    return Err((
                        format!("edges from {} to {}", edges[0], edges[n]),
                        format!("the first edge lo = {lo} and the last hi = {hi}"),
                    ));
                }
                edges.clone()
            }
        };
        if let Some(i) =
            (0..n).find(|&i| e[i + 1] <= e[i] || !e[i].is_finite() || !e[i + 1].is_finite())
        {
            return Err((
                format!("edges {} and {} of cell {i}", e[i], e[i + 1]),
                "strictly increasing finite edges (a map this steep leaves no width to a cell)"
                    .into(),
            ));
        }
        Ok(e)
    }
}

/// The geometry of a stretched axis: its edges, widths and centres.
#[derive(Debug, Clone, PartialEq)]
pub struct Stretch {
    pub edges: Vec<f64>,
    pub widths: Vec<f64>,
    pub centres: Vec<f64>,
}

impl Stretch {
    /// From n + 1 increasing edges.
    pub fn from_edges(edges: Vec<f64>) -> Self {
        let widths = edges.windows(2).map(|e| e[1] - e[0]).collect();
        let centres = edges.windows(2).map(|e| 0.5 * (e[0] + e[1])).collect();
        Stretch {
            edges,
            widths,
            centres,
        }
    }

    /// Cells `rows` of the axis.
    pub fn slice(&self, rows: std::ops::Range<usize>) -> Self {
        Self::from_edges(self.edges[rows.start..=rows.end].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lay_out_increasing_edges_from_lo_to_hi() {
        let sinh = AxisMap::Sinh {
            centre: 0.0,
            width: 0.05,
        };
        let e = sinh.edges(-4.0, 4.0, 64).unwrap();
        assert_eq!((e[0], e[64]), (-4.0, 4.0));
        let w: Vec<f64> = e.windows(2).map(|p| p[1] - p[0]).collect();
        // symmetric about the centre, finest there: W sinh((B − A)/n)
        assert!((w[31] - w[32]).abs() < 1e-12 && w[32] < w[0] / 20.0);
        let b = (4.0f64 / 0.05).asinh();
        assert!((w[32] - 0.05 * (2.0 * b / 64.0).sinh()).abs() < 1e-14);
        let geo = AxisMap::Geometric {
            ratio: 10.0,
            from: "lo".into(),
        };
        let e = geo.edges(0.0, 3.0, 40).unwrap();
        let w: Vec<f64> = e.windows(2).map(|p| p[1] - p[0]).collect();
        let q = 10f64.powf(1.0 / 40.0);
        assert!(w.windows(2).all(|p| (p[1] / p[0] / q - 1.0).abs() < 1e-9));
        let hi = AxisMap::Geometric {
            ratio: 10.0,
            from: "hi".into(),
        };
        let e2 = hi.edges(0.0, 3.0, 40).unwrap();
        assert!((e2[1] - e2[0] - w[39]).abs() < 1e-12);
        assert_eq!(
            AxisMap::Uniform.edges(-1.0, 1.0, 4).unwrap(),
            [-1.0, -0.5, 0.0, 0.5, 1.0]
        );
    }

    #[test]
    fn bad_maps_say_what_is_allowed() {
        let e = AxisMap::Edges {
            edges: vec![0.0, 0.5, 0.4, 1.0],
        };
        assert!(e.edges(0.0, 1.0, 3).unwrap_err().1.contains("increasing"));
        assert!(e.edges(0.0, 1.0, 4).unwrap_err().1.contains("5 edges"));
        let s = AxisMap::Sinh {
            centre: 0.0,
            width: -1.0,
        };
        assert!(s
            .edges(0.0, 1.0, 4)
            .unwrap_err()
            .1
            .contains("positive width"));
    }
}
