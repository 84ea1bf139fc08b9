//! **Reading the user's files**, capped: a problem or a data file is read
//! whole only when it is a regular file no larger than a stated bound, so
//! a device (`/dev/zero`), a FIFO or a huge file is refused by name before
//! any memory is taken for it.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The largest problem file read (1 MiB: a problem is a page of TOML).
pub const MAX_PROBLEM_BYTES: u64 = 1 << 20;

/// The largest data file read (256 MiB: about 10⁷ rows of a few numbers,
/// far beyond what a grid's quadrature can use).
pub const MAX_DATA_BYTES: u64 = 1 << 28;

/// The bytes of the regular file at `path`, at most `cap` of them; errors
/// name `field` (the key or argument that gave the path).
pub fn read_capped(path: &Path, field: &str, cap: u64) -> Result<Vec<u8>> {
    let refuse = |why: String| {
        Error::problem(
            field,
            format!("{:?}", path.display().to_string()),
            format!(
                "a readable regular file of at most {} MiB ({why})",
                cap >> 20
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| refuse(e.to_string()))?;
    if !meta.is_file() {
        return Err(refuse("it is a device, a folder or a pipe".into()));
    }
    if meta.len() > cap {
        return Err(refuse(format!("it has {} bytes", meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(|e| refuse(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(refuse("it grew while read".into()));
    }
    Ok(bytes)
}

/// The text of a capped file (UTF-8; a leading byte-order mark dropped).
pub fn read_text(path: &Path, field: &str, cap: u64) -> Result<String> {
    let bytes = read_capped(path, field, cap)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::problem(
            field,
            format!("{:?}", path.display().to_string()),
            "a UTF-8 text file",
        )
    })?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_large_files_are_refused_before_reading() {
        let e = read_capped(Path::new("/dev/zero"), "data.file", 1 << 20).unwrap_err();
        assert_eq!(e.field(), Some("data.file"));
        assert!(e.to_string().contains("device"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.csv");
        std::fs::write(&p, vec![b'1'; 2048]).unwrap();
        assert!(read_capped(&p, "data.file", 1024).is_err());
        assert_eq!(read_capped(&p, "data.file", 2048).unwrap().len(), 2048);
        std::fs::write(&p, "\u{feff}1,2\n").unwrap();
        assert_eq!(read_text(&p, "data.file", 100).unwrap(), "1,2\n");
    }
}
