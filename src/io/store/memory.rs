//! **A store in memory**: the run's [`Results`] as a value, for the
//! library entry point (a notebook, a sweep) and for tests.

use super::{variable, Attr, Group, Header, Results, Store, Var};
use crate::error::{Error, Result};

/// Keeps everything a run writes as [`Results`].
#[derive(Debug, Clone)]
pub struct MemoryStore {
    results: Results,
}

impl MemoryStore {
    /// An empty store of `header`'s problem and dimensions.
    pub fn new(header: &Header) -> Self {
        MemoryStore {
            results: Results::new(header),
        }
    }

    /// What has been written so far.
    pub fn results(&self) -> &Results {
        &self.results
    }

    /// The results, the store consumed.
    pub fn into_results(self) -> Results {
        self.results
    }

    fn group(&mut self, group: &str) -> Result<&mut Group> {
        self.results
            .group_mut(group)
            .ok_or_else(|| Error::Hdf5(format!("no group {group} in the results")))
    }

    fn new_group(&mut self, group: &str, attrs: &[(&str, Attr)]) -> Result<&mut Group> {
        if self.results.group(group).is_some() {
            return Err(Error::Hdf5(format!("group {group} added twice")));
        }
        self.results.groups.push(Group {
            path: group.to_string(),
            attrs: attrs
                .iter()
                .map(|(n, a)| (n.to_string(), a.clone()))
                .collect(),
            vars: Vec::new(),
        });
        self.group(group)
    }

    /// Append one row of time-dependent variables to `group`.
    fn push_row(&mut self, group: &str, vars: &[Var]) -> Result<()> {
        let dims = self.results.dims.clone();
        let g = self.group(group)?;
        for var in vars {
            let new = variable(&dims, var)?;
            match g.vars.iter_mut().find(|v| v.name == var.spec.name) {
                Some(v) if v.shape[1..] == new.shape[1..] => {
                    v.shape[0] += 1;
                    v.data.extend_from_slice(&new.data);
                }
                Some(v) => {
                    return Err(Error::Hdf5(format!(
                        "{group}/{}: a snapshot of shape {:?} after {:?}",
                        v.name,
                        &new.shape[1..],
                        &v.shape[1..]
                    )))
                }
                None => g.vars.push(Variable {
                    shape: [&[1][..], &new.shape[1..]].concat(),
                    ..new
                }),
            }
        }
        Ok(())
    }
}

use super::Variable;

impl Store for MemoryStore {
    fn add_group(&mut self, group: &str, attrs: &[(&str, Attr)], constants: &[Var]) -> Result<()> {
        let dims = self.results.dims.clone();
        let vars = constants
            .iter()
            .map(|v| variable(&dims, v))
            .collect::<Result<Vec<_>>>()?;
        self.new_group(group, attrs)?.vars = vars;
        Ok(())
    }

    fn append(&mut self, group: &str, vars: &[Var], _state: Option<&[f64]>) -> Result<()> {
        self.push_row(group, vars)
    }

    fn append_rows(&mut self, group: &str, rows: &[Vec<Var>]) -> Result<()> {
        if self.results.group(group).is_none() {
            self.new_group(group, &[])?;
        }
        for row in rows {
            self.push_row(group, row)?;
        }
        Ok(())
    }

    fn add_whole(&mut self, group: &str, attrs: &[(&str, Attr)], vars: &[Var]) -> Result<()> {
        self.add_group(group, attrs, vars)
    }

    fn complete(&mut self) -> Result<()> {
        self.results
            .set_attr("status", Attr::Str("complete".to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Dim, Dims, GridAxis, VarSpec};
    use super::*;

    const TIME: VarSpec = VarSpec::new("time", &[Dim::Time], "t");
    const FIELD: VarSpec = VarSpec::new("density", &[Dim::Time, Dim::Grid], "ρ");

    #[test]
    fn snapshots_stack_along_time() {
        let header = Header {
            problem: "x = 1".into(),
            data_digest: None,
            dims: Dims {
                grid: vec![GridAxis {
                    name: "a".into(),
                    edges: vec![0.0, 1.0, 2.0],
                }],
                ..Dims::default()
            },
        };
        let mut s = MemoryStore::new(&header);
        s.add_group("pde", &[("m", Attr::U64(3))], &[]).unwrap();
        for t in [0.0, 0.5] {
            let rho = [t, 1.0 - t];
            s.append(
                "pde",
                &[Var::scalar(TIME, t), Var::array(FIELD, &rho)],
                None,
            )
            .unwrap();
        }
        s.complete().unwrap();
        let r = s.into_results();
        let rho = r.var("pde", "density").unwrap();
        assert_eq!(rho.shape, vec![2, 2]);
        assert_eq!(rho.dims, vec!["time", "a"]);
        assert_eq!(rho.data, vec![0.0, 1.0, 0.5, 0.5]);
        assert_eq!(r.var("pde", "time").unwrap().data, vec![0.0, 0.5]);
        assert_eq!(r.attr("status").unwrap().text(), "complete");
        // a field of another shape is refused
        let mut s = MemoryStore::new(&header);
        s.add_group("pde", &[], &[]).unwrap();
        s.append("pde", &[Var::array(FIELD, &[1.0, 2.0])], None)
            .unwrap();
        assert!(s
            .append("pde", &[Var::array(FIELD, &[1.0, 2.0, 3.0])], None)
            .is_err());
    }
}
