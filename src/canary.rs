//! Canary tokens: every value a user writes carries one, so any observation
//! can be scanned for data that belongs to somebody else.
//!
//! A token is `icq` followed by 12 lowercase hex digits. Tokens are minted
//! deterministically from the run's seed, so the same seed yields the same
//! tokens (and the same report). They contain only `[a-z0-9]`, so they
//! survive path sanitizers, case folding and JSON escaping unchanged.

/// What every token starts with (also the pattern the sweep greps for).
pub const PREFIX: &str = "icq";
const DIGITS: usize = 12;
const MASK: u64 = (1 << 48) - 1;
/// An odd multiplier: `n -> salt + n * K mod 2^48` is a bijection, so
/// tokens never repeat within 2^48 mints.
const K: u64 = 0x9E37_79B9_7F4B;

/// Mints unique tokens.
#[derive(Clone, Debug)]
pub struct Minter {
    salt: u64,
    next: u64,
}

impl Minter {
    pub fn new(seed: u64) -> Self {
        Self {
            salt: seed.wrapping_mul(0x2545_F491_4F6C_DD1D) & MASK,
            next: 0,
        }
    }

    pub fn mint(&mut self) -> String {
        let v = self.salt.wrapping_add(self.next.wrapping_mul(K)) & MASK;
        self.next += 1;
        format!("{PREFIX}{v:0width$x}", width = DIGITS)
    }
}

/// Every token in `text`, in order of appearance.
pub fn scan(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find(PREFIX) {
        let start = from + pos;
        let end = start + PREFIX.len() + DIGITS;
        if end <= bytes.len()
            && bytes[start + PREFIX.len()..end]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && !bytes.get(end).is_some_and(|b| b.is_ascii_hexdigit())
        {
            out.push(&text[start..end]);
            from = end;
        } else {
            from = start + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_unique_and_scannable() {
        let mut m = Minter::new(7);
        let toks: Vec<String> = (0..1000).map(|_| m.mint()).collect();
        let set: std::collections::HashSet<_> = toks.iter().collect();
        assert_eq!(set.len(), 1000);
        let text = format!("x{}y /files/f_{}.txt", toks[0], toks[1]);
        assert_eq!(scan(&text), vec![toks[0].as_str(), toks[1].as_str()]);
        assert!(scan("icq12345").is_empty());
        assert_eq!(Minter::new(7).mint(), toks[0]);
    }
}
