//! Ids in each provider's own format.

use rand::Rng;

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const ALPHANUMERIC: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A lower-case ULID (26 Crockford base32 characters: 48 bits of milliseconds, 80 random),
/// as in Flex's `fpromo_01k3p7zzdh18fa378epap93907`.
pub(crate) fn ulid() -> String {
    ulid_at(chrono::Utc::now().timestamp_millis())
}

fn ulid_at(millis: i64) -> String {
    let millis = u128::try_from(millis).unwrap_or_default();
    let random: u128 = rand::rng().random::<u128>() & ((1u128 << 80) - 1);
    let mut value = (millis << 80) | random;
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = CROCKFORD[(value & 31) as usize];
        value >>= 5;
    }
    out.iter().map(|&b| b as char).collect()
}

/// `len` random letters and digits, as in Whop's `promo_*************`.
pub(crate) fn alphanumeric(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ulids_are_26_crockford_characters_and_sort_by_time() {
        let first = super::ulid_at(1_700_000_000_000);
        let second = super::ulid_at(1_700_000_000_001);
        assert_eq!(first.len(), 26);
        assert!(first.bytes().all(|b| super::CROCKFORD.contains(&b)));
        assert!(first[..10] < second[..10], "{first} !< {second}");
        assert_ne!(
            super::ulid_at(5)[10..],
            super::ulid_at(5)[10..],
            "random part varies"
        );
    }
}
