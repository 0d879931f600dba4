//! Conversions shared by both databases' statements.

use app::ssr::storage::{ImportedTicket, SessionEnd, StorageError, StorageResult};
use app::domain::{FieldValues, Institution, InstitutionId, InstitutionName, LoginName, RefreshPeriods};
use app::engine::{Barcode, Direction, TicketState, ValidityWindow, Verdict};
use chrono::{DateTime, Utc};

pub(super) fn institution_from(id: i64, parent: Option<i64>, name: String) -> StorageResult<Institution> {
    Ok(Institution {
        id: InstitutionId(id),
        parent: parent.map(InstitutionId),
        name: InstitutionName::parse(&name).map_err(corrupt)?,
    })
}

pub(super) fn login_name_from(name: String) -> StorageResult<LoginName> {
    LoginName::parse(&name).map_err(corrupt)
}

fn corrupt(e: app::domain::ParseError) -> StorageError {
    StorageError::Database(format!("stored value no longer parses: {e}").into())
}

pub(super) fn end_reason_code(end: SessionEnd) -> &'static str {
    match end {
        SessionEnd::SignedInElsewhere => "elsewhere",
        SessionEnd::SignedOut => "signed_out",
        SessionEnd::LoginDisabled => "disabled",
        SessionEnd::PasswordChanged => "password_changed",
        SessionEnd::Expired => "expired",
    }
}

pub(super) fn end_reason_from(code: Option<String>) -> SessionEnd {
    match code.as_deref() {
        Some("elsewhere") => SessionEnd::SignedInElsewhere,
        Some("disabled") => SessionEnd::LoginDisabled,
        Some("password_changed") => SessionEnd::PasswordChanged,
        Some("expired") => SessionEnd::Expired,
        _ => SessionEnd::SignedOut,
    }
}

/// A session's `last_seen_at` is written at most this often: idle timeouts are hours long,
/// and a write per request would cost every door a database write.
pub(super) const SESSION_SEEN_EVERY_MS: i64 = 60_000;

/// Sign-in counters are kept a day after their last attempt: far longer than any delay.
pub(super) const SIGNIN_THROTTLE_RETENTION_MS: i64 = 24 * 3600 * 1000;


pub(super) fn barcode_from(raw: String) -> StorageResult<Barcode> {
    Barcode::parse(&raw).map_err(|e| StorageError::Database(format!("stored barcode no longer parses: {e}").into()))
}

pub(super) fn ticket_state_from(code: &str) -> StorageResult<TicketState> {
    TicketState::parse(code).ok_or_else(|| StorageError::Database(format!("unknown ticket state {code:?}").into()))
}

pub(super) fn direction_from(code: &str) -> StorageResult<Direction> {
    Direction::parse(code).ok_or_else(|| StorageError::Database(format!("unknown direction {code:?}").into()))
}

pub(super) fn time_from(millis: i64) -> StorageResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| StorageError::Database(format!("time out of range: {millis}").into()))
}

pub(super) fn window_from(from: Option<i64>, to: Option<i64>) -> Option<ValidityWindow> {
    match (from.and_then(DateTime::from_timestamp_millis), to.and_then(DateTime::from_timestamp_millis)) {
        (Some(from), Some(to)) => Some(ValidityWindow { from, to }),
        _ => None,
    }
}

pub(super) fn verdict_json(verdict: &Verdict) -> StorageResult<String> {
    serde_json::to_string(verdict).map_err(|e| StorageError::Database(Box::new(e)))
}

pub(super) fn verdict_from(json: &str) -> StorageResult<Verdict> {
    serde_json::from_str(json).map_err(|e| StorageError::Database(Box::new(e)))
}

/// Scan ids of passes a partner's own control reported (not to be pushed back to it).
pub(super) const PARTNER_SCAN_PREFIX: &str = "partner:";

pub(super) fn values_json(values: &FieldValues) -> StorageResult<String> {
    serde_json::to_string(values).map_err(|e| StorageError::Database(Box::new(e)))
}

pub(super) fn values_from(json: &str) -> StorageResult<FieldValues> {
    serde_json::from_str(json).map_err(|e| StorageError::Database(Box::new(e)))
}

const MINUTE_MS: i64 = 60_000;

pub(super) fn periods_millis(periods: RefreshPeriods) -> (i64, i64, i64) {
    (
        i64::from(periods.long_minutes) * MINUTE_MS,
        i64::from(periods.short_minutes) * MINUTE_MS,
        i64::from(periods.short_window_hours) * 60 * MINUTE_MS,
    )
}

pub(super) fn periods_from(long: i64, short: i64, window: i64) -> RefreshPeriods {
    let minutes = |ms: i64| u32::try_from(ms / MINUTE_MS).unwrap_or(u32::MAX);
    RefreshPeriods { long_minutes: minutes(long), short_minutes: minutes(short), short_window_hours: minutes(window) / 60 }
}

pub(super) fn count_from(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// Tickets in one import from which the database's planner statistics are refreshed at once
/// (`Dialect::AFTER_BULK_IMPORT`), rather than when the autovacuum gets to it.
pub(super) const BULK_IMPORT: usize = 10_000;

/// A number listed twice in one import counts as its last row, on both databases (PostgreSQL
/// refuses a statement that updates one row twice): the tickets to write, in their order.
pub(super) fn last_rows(tickets: &[ImportedTicket]) -> Vec<&ImportedTicket> {
    let mut last_row = std::collections::HashMap::with_capacity(tickets.len());
    for (index, ticket) in tickets.iter().enumerate() {
        last_row.insert(ticket.barcode.as_str(), index);
    }
    tickets.iter().enumerate().filter(|(index, t)| last_row.get(t.barcode.as_str()) == Some(index)).map(|(_, t)| t).collect()
}
