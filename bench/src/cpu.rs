//! CPU time by process, from `/proc/<pid>/stat`: the stack's own processes by pid, and the
//! shared services (every `postgres` process, `redis-server`, RabbitMQ's `beam.smp`) by name.

use std::{collections::BTreeMap, fs};

/// Clock ticks per second of `/proc` CPU times: `USER_HZ`, 100 on every Linux ABI we run on.
const TICKS_PER_SECOND: f64 = 100.0;

/// The services the stack runs against, by the name their processes carry.
const SERVICES: [(&str, &str); 3] = [
    ("postgres", "postgres"),
    ("redis-server", "redis"),
    ("beam.smp", "rabbitmq"),
];

/// CPU seconds (user + system) used so far, by label.
#[derive(Debug, Clone, Default)]
pub struct Sample(BTreeMap<String, f64>);

/// `(name, cpu seconds)` of one process, if it still exists.
fn read(pid: u32) -> Option<(String, f64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ...`: comm may hold spaces and parentheses, so split at the last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // After comm: state is field 3 of the line; utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, (utime + stime) / TICKS_PER_SECOND))
}

impl Sample {
    /// Takes a sample: `processes` summed by label (every worker under one), each service
    /// summed over its processes.
    pub fn take(processes: &[(String, u32)]) -> Sample {
        let mut by_label = BTreeMap::new();
        for (label, pid) in processes {
            if let Some((_, secs)) = read(*pid) {
                *by_label.entry(label.clone()).or_insert(0.0) += secs;
            }
        }
        if let Ok(entries) = fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                    continue;
                };
                let Some((name, secs)) = read(pid) else {
                    continue;
                };
                if let Some((_, label)) = SERVICES.iter().find(|(n, _)| *n == name) {
                    *by_label.entry((*label).to_string()).or_insert(0.0) += secs;
                }
            }
        }
        Sample(by_label)
    }

    /// CPU seconds used between `earlier` and this sample, by label. Postgres backends that
    /// ended in between are not counted (their time leaves with them).
    pub fn since(&self, earlier: &Sample) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .map(|(label, secs)| {
                let before = earlier.0.get(label).copied().unwrap_or(0.0);
                (label.clone(), (secs - before).max(0.0))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_cpu_time_a_process_spends() {
        let me = vec![("me".to_string(), std::process::id())];
        let before = Sample::take(&me);
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = Sample::take(&me).since(&before)["me"];
        // 300 ms of spinning on one thread, counted in 10 ms ticks; a busy machine may
        // deschedule us, never make us use more than the wall time.
        assert!((0.05..=1.0).contains(&used), "{used} s");
    }
}
