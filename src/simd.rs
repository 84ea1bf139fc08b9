//! **SIMD variants**: the hot loops (particle passes, advection and
//! diffusion sweeps, the CFL rate) are plain Rust loops that the compiler
//! vectorises. Each is compiled three times — baseline x86-64 (SSE2), AVX2
//! and AVX-512 — and the widest the CPU has is taken at run time
//! ([`Simd::detect`]).
//!
//! The PDE loops use no FMA (Rust never contracts `a * b + c`) and no
//! reassociation, so every variant computes the same bits: only the speed
//! differs (tested for the PDE step). The particle passes fuse their
//! multiply–adds in the AVX2 and AVX-512 variants (both require FMA): those
//! two agree to the bit, the baseline with them to round-off
//! ([`crate::particles::kernel`], tested).

/// The instruction sets the passes are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simd {
    /// x86-64 baseline (SSE2), or any other architecture.
    Baseline,
    /// x86-64 with AVX2 and FMA (4 doubles per vector).
    Avx2,
    /// x86-64 with AVX-512F and FMA (8 doubles per vector).
    Avx512,
}

impl Simd {
    /// The widest variant this CPU runs.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            for simd in [Simd::Avx512, Simd::Avx2] {
                if simd.available() {
                    return simd;
                }
            }
        }
        Simd::Baseline
    }

    /// Whether this CPU runs the variant.
    pub fn available(self) -> bool {
        match self {
            Simd::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Its name (for `mfpde check` and the benchmarks).
    pub fn name(self) -> &'static str {
        match self {
            Simd::Baseline => "baseline",
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }
}

impl Simd {
    /// Every variant this CPU runs, baseline first.
    pub fn all_available() -> Vec<Simd> {
        [Simd::Baseline, Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|s| s.available())
            .collect()
    }
}

/// Call `f` in a function compiled with AVX2 (for [`simd_run!`]).
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub unsafe fn call_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Call `f` in a function compiled with AVX-512F (for [`simd_run!`]).
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub unsafe fn call_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `simd_run!(simd, { body })`: the body compiled for the [`Simd`]
/// variant `simd` and run. The body is written out once per variant, each
/// copy a closure with one call site inside a function of that instruction
/// set, so the compiler inlines it there and vectorises its loops (and the
/// `#[inline(always)]` functions it calls) for that set.
///
/// # Panics
/// If the CPU lacks the variant.
#[macro_export]
macro_rules! simd_run {
    ($simd:expr, $body:block) => {{
        let simd: $crate::simd::Simd = $simd;
        assert!(
            simd.available(),
            "{} is not available on this CPU",
            simd.name()
        );
        match simd {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has AVX2 (asserted above).
            $crate::simd::Simd::Avx2 => unsafe { $crate::simd::call_avx2(|| $body) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has AVX-512F (asserted above).
            $crate::simd::Simd::Avx512 => unsafe { $crate::simd::call_avx512(|| $body) },
            _ => $body,
        }
    }};
}
