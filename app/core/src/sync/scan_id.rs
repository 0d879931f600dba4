//! Scan ids, made by the device. The server keeps every id in a unique index: an id that
//! starts with its time (a UUIDv7, RFC 9562) lands at the end of that index, where a random
//! one would dirty a page anywhere in it at every scan.

use crate::ids::Millis;

/// A UUIDv7 for a scan made at `now`, in its usual text form: 48 bits of milliseconds, then
/// `random`'s bits around the version and variant. The caller brings the time and the random
/// bytes (in the browser both come from it; this crate has no clock and no randomness).
pub fn time_ordered_scan_id(now: Millis, random: &[u8; 10]) -> String {
    uuid::Builder::from_unix_timestamp_millis(now.max(0) as u64, random).into_uuid().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_version_7_uuid_with_its_time_first() {
        let id = time_ordered_scan_id(1_764_870_000_123, &[0xff; 10]);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[..13], &format!("{:08x}-{:04x}", 1_764_870_000_123_i64 >> 16, 1_764_870_000_123_i64 & 0xffff));
        assert_eq!(&id[14..15], "7", "version");
        assert_eq!(&id[19..20], "b", "variant 10xx with the random bits set");
    }

    #[test]
    fn later_ids_sort_after_earlier_ones_whatever_their_random_part() {
        let earlier = time_ordered_scan_id(1_764_870_000_123, &[0xff; 10]);
        let later = time_ordered_scan_id(1_764_870_000_124, &[0; 10]);
        assert!(earlier < later);
    }

    #[test]
    fn two_ids_of_one_millisecond_differ_by_their_random_part() {
        let (mut one, mut two) = ([0; 10], [0; 10]);
        (one[9], two[9]) = (1, 2);
        assert_ne!(time_ordered_scan_id(5, &one), time_ordered_scan_id(5, &two));
    }
}
