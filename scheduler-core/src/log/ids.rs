//! Identities in the log: of a run ([`RunId`]), unique across restarts and across the
//! programs that share a database, and of the scheduler process that wrote a record
//! ([`InstanceId`]).

use std::fmt;
use std::str::FromStr;

/// The identity of one run: its `run` record and the record that ends it share it.
///
/// Laid out as a UUID of version 7: the run's start in Unix milliseconds (so that ids sort
/// by start time), then the writing process's random seed and a sequence number. Two
/// processes draw their seeds independently; within a process the sequence never repeats.
///
/// ```
/// use scheduler_core::log::RunId;
///
/// let id: RunId = "0193a7e2-5c1a-7000-8000-00000000002a".parse()?;
/// assert_eq!(id.to_string(), "0193a7e2-5c1a-7000-8000-00000000002a");
/// assert_eq!(id.unix_millis(), 0x0193_a7e2_5c1a);
/// # Ok::<(), scheduler_core::log::InvalidRunId>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(u128);

impl RunId {
    /// The id made of these 128 bits.
    pub const fn from_u128(bits: u128) -> RunId {
        RunId(bits)
    }

    /// The 128 bits of the id.
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// The 16 bytes of the id, most significant first (as stored).
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// The id of 16 bytes, most significant first.
    pub const fn from_bytes(bytes: [u8; 16]) -> RunId {
        RunId(u128::from_be_bytes(bytes))
    }

    /// The start of the run, in milliseconds since the Unix epoch, as the id records it.
    pub const fn unix_millis(self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// The 12 bits after the version that mark the id of a job's attempt
    /// (`queue::job_run_id`); a scheduler's own ids never carry them ([`RunIds`] skips them).
    pub const JOB_TAG: u16 = 0x10b;

    /// Whether this is the run of a queued job's attempt: such a run is watched by the
    /// queue's lease (a worker that dies is found when its lease expires, and its run
    /// closed as crashed then), not by the log's open runs.
    pub const fn is_job_run(self) -> bool {
        (self.0 >> 76) & 0xf == 0x7 && ((self.0 >> 64) & 0xfff) as u16 == Self::JOB_TAG
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({self})")
    }
}

/// Text that is not a run id (32 hexadecimal digits, with or without the dashes of a UUID).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a run id: expected a UUID such as 0193a7e2-5c1a-7000-8000-00000000002a")]
pub struct InvalidRunId(pub String);

impl FromStr for RunId {
    type Err = InvalidRunId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.trim().chars().filter(|&c| c != '-').collect();
        if digits.len() != 32 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(InvalidRunId(s.to_owned()));
        }
        u128::from_str_radix(&digits, 16)
            .map(RunId)
            .map_err(|_| InvalidRunId(s.to_owned()))
    }
}

/// As its text (`0193a7e2-5c1a-7000-8000-00000000002a`).
#[cfg(feature = "runtime")]
impl serde::Serialize for RunId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "runtime")]
impl<'de> serde::Deserialize<'de> for RunId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Issues the run ids of one scheduler process.
#[cfg(feature = "runtime")]
///
/// Hand-written rather than `uuid::Uuid::now_v7`: that reads the operating system's random
/// source for every id, 1.4 µs each on the development machine, more than a whole trivial
/// run costs the scheduler; this draws 62 random bits once and counts.
#[derive(Debug)]
pub struct RunIds {
    seed: u64,
    sequence: u64,
}

/// Bits of a version 7 UUID: the version in bits 76..80, the variant in bits 62..64.
#[cfg(feature = "runtime")]
const VERSION_7: u128 = 0x7 << 76;
#[cfg(feature = "runtime")]
const VARIANT: u128 = 0b10 << 62;

#[cfg(feature = "runtime")]
impl RunIds {
    /// A generator whose ids differ from those of every other generator, with
    /// overwhelming probability, by a random seed.
    pub fn new() -> RunIds {
        RunIds::with_seed(random_u64())
    }

    /// A generator with a given seed (tests).
    pub fn with_seed(seed: u64) -> RunIds {
        RunIds { seed, sequence: 0 }
    }

    /// The id of a run that starts at `unix_micros`.
    pub fn next(&mut self, unix_micros: i64) -> RunId {
        self.sequence += 1;
        let millis = (unix_micros.max(0) / 1000) as u128 & ((1 << 48) - 1);
        // 12 bits of the sequence above the version, the seed's 30 low bits and 32 more
        // of the sequence below the variant: ids of one process differ by their sequence,
        // those of two processes by their seeds.
        let sequence = u128::from(self.sequence);
        let mut high = (sequence >> 32) & 0xfff;
        if high == u128::from(RunId::JOB_TAG) {
            // Past 2^40 runs: the next value, so that no run of this process reads as a job's.
            high += 1;
        }
        let low = (u128::from(self.seed) & 0x3fff_ffff) << 32 | (sequence & 0xffff_ffff);
        RunId(millis << 80 | VERSION_7 | high << 64 | VARIANT | low)
    }
}

#[cfg(feature = "runtime")]
impl Default for RunIds {
    fn default() -> Self {
        RunIds::new()
    }
}

/// 64 bits from the operating system's random source, or, where it fails, from the time
/// and the process id.
#[cfg(feature = "runtime")]
fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            now ^ (u64::from(std::process::id()) << 32)
        }
    }
}

/// The identity of one scheduler process: records it writes carry it, and a run it left
/// open is closed as crashed by the next process that finds it dead.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(u64);

impl InstanceId {
    /// A new, random identity.
    #[cfg(feature = "runtime")]
    pub fn random() -> InstanceId {
        InstanceId(random_u64())
    }

    /// The identity of these 64 bits.
    pub const fn from_u64(bits: u64) -> InstanceId {
        InstanceId(bits)
    }

    /// The 64 bits of the identity.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstanceId({self})")
    }
}

impl FromStr for InstanceId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s.trim(), 16).map(InstanceId)
    }
}

#[cfg(all(test, feature = "runtime"))]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_uuids_that_sort_by_start() {
        let mut ids = RunIds::with_seed(0xdead_beef);
        let a = ids.next(1_700_000_000_000_000);
        let b = ids.next(1_700_000_000_000_000);
        let c = ids.next(1_700_000_001_000_000);
        assert!(a < b && b < c);
        assert_eq!(a.unix_millis(), 1_700_000_000_000);
        let text = a.to_string();
        assert_eq!(&text[14..15], "7", "{text}");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "{text}");
        assert_eq!(text.parse::<RunId>(), Ok(a));
        assert_eq!(text.replace('-', "").parse::<RunId>(), Ok(a));
        assert_eq!(RunId::from_bytes(a.to_bytes()), a);
        assert!("not-an-id".parse::<RunId>().is_err());
        // Two processes with different seeds never issue the same id.
        let mut other = RunIds::with_seed(0x1234);
        assert_ne!(other.next(1_700_000_000_000_000), a);
    }

    #[test]
    fn instance_ids_read_their_text() {
        let id = InstanceId::from_u64(0x00ab_cdef_0123_4567);
        assert_eq!(id.to_string(), "00abcdef01234567");
        assert_eq!("00abcdef01234567".parse::<InstanceId>(), Ok(id));
        assert_ne!(InstanceId::random(), InstanceId::random());
    }
}
