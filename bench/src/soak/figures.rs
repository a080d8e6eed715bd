//! The soak's figures: its timeline and latency windows, and the RSS of
//! each instance life with the line fitted through it.

use std::time::SystemTime;

use super::cluster::Sample;

/// When the load began, and how time is cut into windows.
#[derive(Clone)]
pub struct Timeline {
    start: tokio::time::Instant,
    start_us: i64,
    window_us: i64,
}

impl Timeline {
    pub fn now(window_minutes: f64) -> Timeline {
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        Timeline {
            start: tokio::time::Instant::now(),
            start_us: since_epoch.as_micros() as i64,
            window_us: ((window_minutes * 60e6) as i64).max(1),
        }
    }

    pub fn start(&self) -> tokio::time::Instant {
        self.start
    }

    /// Seconds since the load began.
    pub fn secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The window of a wall-clock time (microseconds since the epoch).
    pub fn window_at(&self, us: i64) -> usize {
        ((us - self.start_us).max(0) / self.window_us) as usize
    }

    /// The window of a time in seconds since the load began.
    pub fn window_of_secs(&self, secs: f64) -> usize {
        ((secs * 1e6) as i64 / self.window_us) as usize
    }

    pub fn window_minutes(&self) -> f64 {
        self.window_us as f64 / 60e6
    }
}

/// Latencies (µs) and reconnects, per window.
#[derive(Default)]
pub struct Latencies {
    pub live: Vec<Vec<u32>>,
    pub caught_up: Vec<Vec<u32>>,
    pub reconnects: Vec<u64>,
}

fn at<T: Default>(v: &mut Vec<T>, window: usize) -> &mut T {
    if v.len() <= window {
        v.resize_with(window + 1, T::default);
    }
    &mut v[window]
}

impl Latencies {
    pub fn live(&mut self, window: usize, us: u32) {
        at(&mut self.live, window).push(us);
    }

    pub fn caught_up(&mut self, window: usize, us: u32) {
        at(&mut self.caught_up, window).push(us);
    }

    pub fn reconnected(&mut self, window: usize) {
        *at(&mut self.reconnects, window) += 1;
    }

    pub fn merge(&mut self, other: &Latencies) {
        for (w, v) in other.live.iter().enumerate() {
            at(&mut self.live, w).extend(v);
        }
        for (w, v) in other.caught_up.iter().enumerate() {
            at(&mut self.caught_up, w).extend(v);
        }
        for (w, n) in other.reconnects.iter().enumerate() {
            *at(&mut self.reconnects, w) += n;
        }
    }

    pub fn windows(&self) -> usize {
        self.live
            .len()
            .max(self.caught_up.len())
            .max(self.reconnects.len())
    }
}

/// The `p` quantile of sorted latencies, in ms (NaN when there are none).
pub fn quantile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

/// One life of one instance (from a start to its restart, or to the end of the load).
#[derive(Debug, Clone)]
pub struct Life {
    pub instance: usize,
    pub life: usize,
    /// Minutes since the load began.
    pub from: f64,
    pub to: f64,
    pub first_mib: f64,
    pub last_mib: f64,
    /// Over the last two thirds of the life (after warm-up).
    pub slope_mib_per_10min: f64,
    pub spread_mib: f64,
    pub samples: usize,
}

/// Each instance life's RSS: warm-up is its first third; the line is
/// fitted by least squares through the samples after it.
pub fn lives(samples: &[Sample]) -> Vec<Life> {
    let mut keys: Vec<(usize, usize)> = samples.iter().map(|s| (s.instance, s.life)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter_map(|(instance, life)| {
            let of: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.instance == instance && s.life == life)
                .collect();
            let (from, to) = (of.first()?.t, of.last()?.t);
            let warm = from + (to - from) / 3.0;
            let after: Vec<(f64, f64)> = of
                .iter()
                .filter(|s| s.t >= warm)
                .map(|s| (s.t / 60.0, s.kib as f64 / 1024.0))
                .collect();
            let (low, high) = after.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| {
                (lo.min(*y), hi.max(*y))
            });
            Some(Life {
                instance,
                life,
                from: from / 60.0,
                to: to / 60.0,
                first_mib: of[0].kib as f64 / 1024.0,
                last_mib: of[of.len() - 1].kib as f64 / 1024.0,
                slope_mib_per_10min: slope(&after) * 10.0,
                spread_mib: high - low,
                samples: of.len(),
            })
        })
        .collect()
}

/// The least-squares slope of `points` (NaN for fewer than two distinct x).
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slope_of_a_line_is_its_gradient_whatever_the_noise_around_it() {
        let points: Vec<(f64, f64)> = (0..100)
            .map(|i| {
                (
                    i as f64,
                    2.0 * i as f64 + if i % 2 == 0 { 3.0 } else { -3.0 },
                )
            })
            .collect();
        assert!((slope(&points) - 2.0).abs() < 0.01);
    }

    #[test]
    fn a_life_is_judged_after_its_first_third() {
        // Grows 100 MiB in the first third (warm-up), then flat with ±1 MiB noise.
        let samples: Vec<Sample> = (0..=90)
            .map(|i| Sample {
                instance: 0,
                life: 0,
                t: i as f64 * 10.0,
                kib: 1024 * if i < 30 { 10 + 3 * i } else { 100 + i % 2 },
            })
            .collect();
        let lives = lives(&samples);
        assert_eq!(lives.len(), 1);
        assert!(lives[0].slope_mib_per_10min.abs() < 0.5, "{lives:?}");
        assert_eq!(lives[0].spread_mib, 1.0);
        assert_eq!(lives[0].to, 15.0);
    }

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&sorted, 0.99), 99.0);
        assert_eq!(quantile_ms(&sorted, 0.5), 50.0);
        assert!(quantile_ms(&[], 0.99).is_nan());
    }
}
