//! Where the CPU went: this process's threads grouped by runtime (each service runs on a runtime of its own, whose
//! threads carry its name), read from `/proc/self/task/*/stat`, and the Redis server's own account (`INFO cpu`).

use std::collections::BTreeMap;
use std::time::Duration;

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds per thread group.
pub type Sample = BTreeMap<&'static str, f64>;

/// The group a thread belongs to, by its name.
fn group(name: &str) -> &'static str {
    if name.starts_with("tasks") {
        "tasks service"
    } else if name.starts_with("peers") {
        "auth + projects + metrics sink"
    } else if name.starts_with("loadgen") {
        "loadgen client"
    } else if name.starts_with("sqlx-sqlite") {
        "sqlite worker threads"
    } else {
        "other threads"
    }
}

/// CPU seconds used so far by this process's threads, per group (empty where `/proc` is not there).
pub fn threads() -> Sample {
    let mut sample = Sample::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return sample;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: the name may hold spaces and parentheses; the fields follow the last `)`.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        *sample.entry(group(name)).or_default() += (ticks(11) + ticks(12)) / TICKS_PER_SECOND;
    }
    sample
}

/// The Redis server's CPU seconds so far (user + system, all its threads), or `None` when it does not say.
pub async fn redis(url: &str) -> Option<f64> {
    let client = redis::Client::open(url).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    let info: String = redis::cmd("INFO").arg("cpu").query_async(&mut conn).await.ok()?;
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<f64>().ok())
    };
    Some(field("used_cpu_user")? + field("used_cpu_sys")?)
}

/// `after - before` per group, with the Redis server's share, as cores busy over `elapsed`.
pub fn report(before: &Sample, after: &Sample, redis: Option<f64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mut lines = Vec::new();
    let mut total = 0.0;
    for (name, now) in after {
        let used = now - before.get(name).copied().unwrap_or(0.0);
        total += used;
        lines.push(format!("      {name:<32} {:>5.2} cores ({used:.1}s)", used / secs));
    }
    if let Some(used) = redis {
        total += used;
        lines.push(format!(
            "      {:<32} {:>5.2} cores ({used:.1}s)",
            "redis-server",
            used / secs
        ));
    }
    lines.push(format!("      {:<32} {:>5.2} cores", "total", total / secs));
    lines.join("\n")
}
