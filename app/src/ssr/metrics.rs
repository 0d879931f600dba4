//! What the server functions count for `/metrics`: scans, offline uploads and sign-ins, at the
//! edge where a request is answered (the engine in `billetix-core` counts nothing). The server
//! installs the exporter (`server/src/metrics.rs`); with none installed these calls do nothing.

use billetix_core::engine::{Mode, Refusal, Verdict};

use super::storage::ScanRecord;

/// Scans recorded, by `verdict` (`accepted` or the refusal's reason), door `mode` and who
/// `decided` (`server` for a scan decided online, `device` for one uploaded).
pub const SCANS: &str = "billetix_scans_total";
/// Time the server took to decide and record an online scan (`/api/scan`).
pub const SCAN_SECONDS: &str = "billetix_scan_duration_seconds";
/// Offline uploads received (`/api/sync_upload`), and the scans each carried.
pub const UPLOADS: &str = "billetix_offline_uploads_total";
pub const UPLOAD_SCANS: &str = "billetix_offline_upload_scans";
/// Sign-ins by `result`: `success`, `wrong_credentials`, `disabled`, `delayed` (throttled).
pub const SIGN_INS: &str = "billetix_sign_ins_total";

pub fn verdict_label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Accepted { .. } => "accepted",
        Verdict::Refused { reason } => match reason {
            Refusal::AlreadyScanned { .. } => "already_scanned",
            Refusal::Cancelled => "cancelled",
            Refusal::Reissued => "reissued",
            Refusal::UnknownNumber => "unknown_number",
            Refusal::UnknownStateTicket => "unknown_state_ticket",
            Refusal::FilteredCategory { .. } => "filtered_category",
            Refusal::OtherPerformance { .. } => "other_performance",
            Refusal::PerformanceNotUnderControl => "performance_not_under_control",
            Refusal::ExitWithoutEntry => "exit_without_entry",
            Refusal::AlreadyInside => "already_inside",
            Refusal::TotalQuotaReached { .. } => "total_quota_reached",
            Refusal::DailyQuotaReached { .. } => "daily_quota_reached",
            Refusal::NotValidNow { .. } => "not_valid_now",
            Refusal::WrongEntrance { .. } => "wrong_entrance",
            Refusal::TooEarly { .. } => "too_early",
            Refusal::TooLate { .. } => "too_late",
        },
    }
}

pub fn mode_label(mode: &Mode) -> &'static str {
    match mode {
        Mode::SinglePass => "single_pass",
        Mode::EntryExit { .. } => "entry_exit",
        Mode::MultiPass { .. } => "multi_pass",
    }
}

/// A scan written now (a retry met again is not counted twice), under its door's `mode`.
pub fn scan_recorded(record: &ScanRecord, mode: &Mode) {
    let decided = if record.offline { "device" } else { "server" };
    metrics::counter!(SCANS, "verdict" => verdict_label(&record.verdict), "mode" => mode_label(mode), "decided" => decided).increment(1);
}

pub fn scan_answered(took: std::time::Duration) {
    metrics::histogram!(SCAN_SECONDS).record(took.as_secs_f64());
}

pub fn upload_received(scans: usize) {
    metrics::counter!(UPLOADS).increment(1);
    metrics::histogram!(UPLOAD_SCANS).record(scans as f64);
}

pub fn sign_in(result: &'static str) {
    metrics::counter!(SIGN_INS, "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use billetix_core::engine::Direction;

    #[test]
    fn labels_are_the_wire_names() {
        // The refusal's label is its name on the wire (`"reason": "already_scanned"`).
        let refusals = [
            Refusal::Cancelled,
            Refusal::UnknownNumber,
            Refusal::ExitWithoutEntry,
            Refusal::TotalQuotaReached { max: 2 },
            Refusal::FilteredCategory { category: "vip".into() },
        ];
        for reason in refusals {
            let wire = serde_json::to_value(&reason).expect("json")["reason"].as_str().expect("reason").to_owned();
            assert_eq!(verdict_label(&Verdict::Refused { reason }), wire);
        }
        assert_eq!(verdict_label(&Verdict::Accepted { direction: Direction::In }), "accepted");
        assert_eq!(mode_label(&Mode::EntryExit { direction: Direction::Out }), "entry_exit");
    }
}
