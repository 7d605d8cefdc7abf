//! UUIDs as libvirt reads and prints them (`virUUIDParse`, `virUUIDFormat`).

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A 16-byte UUID, as carried in every object handle on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// Parses the text form. Like libvirt: leading and trailing blanks are allowed, `-` may
    /// appear between any two hex digits, upper- and lower-case digits are accepted.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r');
        let mut out = [0u8; 16];
        let mut n = 0usize;
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '-' {
                continue;
            }
            if n == 32 {
                return None;
            }
            let hi = c.to_digit(16)?;
            let lo = chars.next()?.to_digit(16)?;
            out[n / 2] = u8::try_from(hi * 16 + lo).ok()?;
            n += 2;
        }
        (n == 32).then_some(Self(out))
    }

    /// A random version-4 UUID.
    #[must_use]
    pub fn random() -> Self {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&random_u64().to_le_bytes());
        out[8..].copy_from_slice(&random_u64().to_le_bytes());
        out[6] = (out[6] & 0x0f) | 0x40;
        out[8] = (out[8] & 0x3f) | 0x80;
        Self(out)
    }
}

/// 64 random bits: std's per-process random SipHash keys, fed a counter.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let u = Uuid::parse("EF86180145B911CB88E3AFBFE5370493").unwrap();
        assert_eq!(u.to_string(), "ef861801-45b9-11cb-88e3-afbfe5370493");
        assert_eq!(
            Uuid::parse(" 6695eb01-f6a4-8304-79aa-97f2502e193f\n").unwrap().to_string(),
            "6695eb01-f6a4-8304-79aa-97f2502e193f"
        );
        assert!(Uuid::parse("bad").is_none());
        assert!(Uuid::parse("6695eb01-f6a4-8304-79aa-97f2502e193f00").is_none());
        assert_ne!(Uuid::random(), Uuid::random());
    }
}
