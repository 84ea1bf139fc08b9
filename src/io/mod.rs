//! **Input and output**: the results store ([`store`]: what a run writes,
//! declared as data), HDF5 files ([`hdf5`]), PNG plots ([`plot`]) and where
//! a run may write ([`target`]).

pub mod hdf5;
pub mod plot;
pub mod store;
pub mod target;

/// Run `f`, turning a panic inside it (the HDF5 reader on a malformed
/// file) into an error naming `path`; the panic's message is not printed.
pub fn guarded<T>(
    path: &std::path::Path,
    f: impl FnOnce() -> crate::Result<T>,
) -> crate::Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    let name = path.display().to_string();
    let result = result.map(|r| {
        r.map_err(|e| match e {
            crate::Error::Hdf5(m) if !m.contains(&name) => {
                crate::Error::Hdf5(format!("{name}: {m}"))
            }
            other => other,
        })
    });
    result.unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(crate::Error::Hdf5(format!(
            "{}: a malformed file the reader cannot parse ({msg})",
            path.display()
        )))
    })
}
