//! The server's settings ([`ServeOptions`], one field per `textrnn serve` flag) and the byte
//! sizes of `--max-body` ([`parse_size`]).

use std::time::Duration;

use crate::error::{Error, Result};

/// Perturbations of one `explain` request at most: LIME predicts every one of them, so this
/// bounds the work a single request can ask for.
pub const MAX_EXPLAIN_SAMPLES: usize = 20_000;

/// Words an `explain` answer lists at most.
pub const MAX_EXPLAIN_TOP: usize = 1_000;

/// How the server listens, batches and bounds requests (the `textrnn serve` flags, with their
/// defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ServeOptions {
    /// Address to listen on (`--host`, default 127.0.0.1).
    pub host: String,
    /// Port; 0 binds an ephemeral port (`--port`, default 8080).
    pub port: u16,
    /// Texts per forward pass at most (`--max-batch`, default 64).
    pub max_batch: usize,
    /// How long a batch waits for more texts after its first one arrived (`--max-wait-ms`,
    /// default 5 ms).
    pub max_wait: Duration,
    /// Texts (and explain jobs) waiting per model at most; a request that does not fit is
    /// answered 503 at once (`--queue`, default 1024).
    pub queue: usize,
    /// Request body size limit in bytes; over it: 413 (`--max-body`, default 8 MiB).
    pub max_body: usize,
    /// Texts per predict request at most (`--max-texts`, default 1024).
    pub max_texts: usize,
    /// Per-request time limit, queueing and inference included; over it: 504 (`--timeout-ms`,
    /// default 30 s).
    pub timeout: Duration,
    /// Inference threads per model: each runs one forward pass at a time, and a forward pass
    /// already uses every core (`--threads`, default 1).
    pub threads: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            max_batch: 64,
            max_wait: Duration::from_millis(5),
            queue: 1024,
            max_body: 8 << 20,
            max_texts: 1024,
            timeout: Duration::from_secs(30),
            threads: 1,
        }
    }
}

impl ServeOptions {
    /// Checks that the settings can work: counts at least 1, and a request of `max_texts` texts
    /// fits in the queue.
    pub fn validate(&self) -> Result<()> {
        for (option, value) in [
            ("--max-batch", self.max_batch),
            ("--queue", self.queue),
            ("--max-body", self.max_body),
            ("--max-texts", self.max_texts),
            ("--threads", self.threads),
        ] {
            if value == 0 {
                return Err(Error::invalid(option, "0: must be at least 1"));
            }
        }
        if self.timeout.is_zero() {
            return Err(Error::invalid("--timeout-ms", "0: must be at least 1"));
        }
        if self.queue < self.max_texts {
            return Err(Error::invalid(
                "--queue",
                format!(
                    "{} is smaller than --max-texts {}: a request of {} texts could never be queued",
                    self.queue, self.max_texts, self.max_texts
                ),
            ));
        }
        Ok(())
    }
}

/// A byte size: a whole number with an optional unit, `B`, `KiB`/`MiB`/`GiB` (powers of 1024)
/// or `kB`/`MB`/`GB` (powers of 1000), case-insensitive, e.g. `8MiB`, `512 KiB`, `1000000`.
///
/// ```
/// assert_eq!(textrnn_serve::parse_size("8MiB"), Ok(8 * 1024 * 1024));
/// assert_eq!(textrnn_serve::parse_size("2 kB"), Ok(2000));
/// assert!(textrnn_serve::parse_size("8 parsecs").is_err());
/// ```
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().map_err(|_| {
        format!("`{text}` is not a size: expected a number such as 8MiB or 1000000")
    })?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use B, KiB, MiB, GiB, kB, MB or GB)"
            ))
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8 mib"), Ok(8 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert_eq!(
            parse_size("MiB").unwrap_err(),
            "`MiB` is not a size: expected a number such as 8MiB or 1000000"
        );
        assert_eq!(
            parse_size("8 parsecs").unwrap_err(),
            "`8 parsecs`: unknown unit `parsecs` (use B, KiB, MiB, GiB, kB, MB or GB)"
        );
        assert_eq!(
            parse_size("99999999999999999999GiB").unwrap_err(),
            "`99999999999999999999GiB` is not a size: expected a number such as 8MiB or 1000000"
        );
    }

    #[test]
    fn defaults_are_valid_and_bad_settings_are_named() {
        ServeOptions::default().validate().unwrap();
        let zero = ServeOptions {
            max_batch: 0,
            ..ServeOptions::default()
        };
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "invalid --max-batch: 0: must be at least 1"
        );
        let small_queue = ServeOptions {
            queue: 10,
            ..ServeOptions::default()
        };
        assert_eq!(
            small_queue.validate().unwrap_err().to_string(),
            "invalid --queue: 10 is smaller than --max-texts 1024: a request of 1024 texts could never be queued"
        );
    }
}
