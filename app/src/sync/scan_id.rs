//! Scan ids, made by the device. The server keeps every id in a unique index: an id that
//! starts with its time (a UUIDv7, RFC 9562) lands at the end of that index, where a random
//! one would dirty a page anywhere in it at every scan.

use super::protocol::Millis;

/// A UUIDv7 for a scan made at `now`: 48 bits of milliseconds, then `random`'s bits (74 of
/// them are used) around the version and variant.
pub fn time_ordered_scan_id(now: Millis, random: u128) -> String {
    let millis = (now.max(0) as u128) & ((1 << 48) - 1);
    let random_a = (random >> 64) & 0xfff;
    let random_b = random & ((1 << 62) - 1);
    let id = (millis << 80) | (0x7 << 76) | (random_a << 64) | (0b10 << 62) | random_b;
    let hex = format!("{id:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_version_7_uuid_with_its_time_first() {
        let id = time_ordered_scan_id(1_764_870_000_123, u128::MAX);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[..13], &format!("{:08x}-{:04x}", 1_764_870_000_123_i64 >> 16, 1_764_870_000_123_i64 & 0xffff));
        assert_eq!(&id[14..15], "7", "version");
        assert_eq!(&id[19..20], "b", "variant 10xx with the random bits set");
    }

    #[test]
    fn later_ids_sort_after_earlier_ones_whatever_their_random_part() {
        let earlier = time_ordered_scan_id(1_764_870_000_123, u128::MAX);
        let later = time_ordered_scan_id(1_764_870_000_124, 0);
        assert!(earlier < later);
    }

    #[test]
    fn two_ids_of_one_millisecond_differ_by_their_random_part() {
        assert_ne!(time_ordered_scan_id(5, 1), time_ordered_scan_id(5, 2));
    }
}
