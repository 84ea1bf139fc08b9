//! **Progress of a run**, on stderr: a bar with t, Δt, the risk and the time
//! left when stderr is a terminal (indicatif); otherwise a plain line every
//! ten seconds; nothing with `--quiet`. Results (the snapshot table, the
//! summary) go to stdout; lines printed while a bar is drawn suspend it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The bar being drawn, if any (lines printed meanwhile suspend it).
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Seconds between plain progress lines when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// Ticks of the bar over [0, t_end].
const TICKS: u64 = 1000;

/// Print a line to stdout (ignoring a closed stdout), suspending the bar.
pub fn line(text: &str) {
    use std::io::Write as _;
    let write = || {
        let _ = writeln!(std::io::stdout(), "{text}");
    };
    match BAR.lock().ok().as_ref().and_then(|b| b.as_ref()) {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Reports a PDE run's progress (told by the run's listener).
pub struct Progress {
    t_end: f64,
    risk: f64,
    start: Instant,
    last_line: Instant,
    plain: bool,
    quiet: bool,
}

impl Progress {
    /// Start reporting a run to `t_end` (nothing when `quiet`).
    pub fn new(t_end: f64, quiet: bool) -> Self {
        let plain = !std::io::stderr().is_terminal();
        if !quiet && !plain {
            let bar = ProgressBar::with_draw_target(Some(TICKS), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {msg} [{elapsed}, {eta} left]")
            {
                bar.set_style(style);
            }
            if let Ok(mut b) = BAR.lock() {
                *b = Some(bar);
            }
        }
        Progress {
            t_end,
            risk: f64::NAN,
            start: Instant::now(),
            last_line: Instant::now(),
            plain,
            quiet,
        }
    }

    /// Show `msg` as the progress (on the bar, or a plain line every ten
    /// seconds).
    pub fn note(&mut self, msg: &str) {
        if self.quiet {
            return;
        }
        if self.plain {
            if self.last_line.elapsed() >= PLAIN_EVERY {
                self.last_line = Instant::now();
                eprintln!("progress: {msg}");
            }
        } else if let Ok(b) = BAR.lock() {
            if let Some(bar) = b.as_ref() {
                bar.set_message(msg.to_string());
                bar.tick();
            }
        }
    }

    /// The latest risk, shown beside t.
    pub fn risk(&mut self, risk: f64) {
        self.risk = risk;
    }

    /// After a step to time t of length Δt.
    pub fn step(&mut self, t: f64, dt: f64) {
        if self.quiet {
            return;
        }
        let msg = format!(
            "t = {t:.4} of {}, Δt = {dt:.2e}, R = {:.4e}",
            self.t_end, self.risk
        );
        if self.plain {
            if self.last_line.elapsed() >= PLAIN_EVERY {
                self.last_line = Instant::now();
                let done = t / self.t_end;
                let spent = self.start.elapsed().as_secs_f64();
                let left = if done > 0.0 {
                    spent * (1.0 - done) / done
                } else {
                    f64::NAN
                };
                eprintln!(
                    "progress: {msg} ({:.0} %, about {left:.0} s left)",
                    100.0 * done
                );
            }
        } else if let Ok(b) = BAR.lock() {
            if let Some(bar) = b.as_ref() {
                bar.set_position(((t / self.t_end).clamp(0.0, 1.0) * TICKS as f64) as u64);
                bar.set_message(msg);
            }
        }
    }

    /// Take the bar off the terminal.
    pub fn clear() {
        if let Ok(mut b) = BAR.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        Progress::clear();
    }
}
