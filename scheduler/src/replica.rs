//! Who this replica is, as recorded with every tick it wins (`schedule_ticks.fired_by`).
//!
//! Host and pid let an operator find the process; the random suffix tells apart two processes
//! that got the same pid (a restarted container) so their ticks are never attributed to each
//! other.

use rand::Rng;

/// Where Linux keeps the host name, read instead of calling `gethostname` (no unsafe code).
const HOSTNAME_FILES: [&str; 2] = ["/proc/sys/kernel/hostname", "/etc/hostname"];

/// `"{hostname}:{pid}:{6 hex digits}"`, the hostname being `unknown` when it cannot be read.
pub fn identity() -> String {
    let suffix: u32 = rand::rng().random_range(0..0x100_0000);
    format!("{}:{}:{suffix:06x}", hostname(), std::process::id())
}

/// The host's name, from the environment or the kernel.
fn hostname() -> String {
    let from_env = std::env::var("HOSTNAME").ok();
    let from_files = || {
        HOSTNAME_FILES
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
    };
    from_env
        .or_else(from_files)
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_host_pid_and_a_random_suffix() {
        let id = identity();
        let parts: Vec<&str> = id.rsplitn(3, ':').collect();
        assert_eq!(parts.len(), 3, "{id}");
        assert_eq!(parts[0].len(), 6, "{id}");
        assert!(parts[0].chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert_eq!(parts[1], std::process::id().to_string());
        assert!(!parts[2].is_empty());
    }

    #[test]
    fn two_replicas_in_one_process_differ() {
        // 1 in 16 million to collide; a handful of tries makes a false failure impossible.
        let first = identity();
        assert!((0..5).any(|_| identity() != first));
    }
}
