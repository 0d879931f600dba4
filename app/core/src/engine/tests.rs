//! Scenarios for every mode and reason, and properties over random scan sequences.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use proptest::prelude::*;

use super::*;

const P1: PerformanceId = PerformanceId(1);
const P2: PerformanceId = PerformanceId(2);

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("test time").with_timezone(&Utc)
}

fn code(raw: &str) -> Barcode {
    Barcode::parse(raw).expect("test barcode")
}

fn ticket(performance: PerformanceId, state: TicketState, category: &str) -> Ticket {
    Ticket { performance, state, category: category.into(), window: None }
}

fn door(mode: Mode) -> Checkpoint {
    Checkpoint { mode, under_control: vec![P1], excluded: vec![], time_zone: Paris }
}

fn scan_at(when: &str, device: &'static str) -> Scan<'static> {
    Scan { at: at(when), device }
}

fn refusal(verdict: Verdict) -> Refusal {
    match verdict {
        Verdict::Refused { reason } => reason,
        accepted => panic!("expected a refusal, got {accepted:?}"),
    }
}

fn book_with(tickets: &[(&str, Ticket)]) -> TicketBook {
    let mut book = TicketBook::new();
    for (number, t) in tickets {
        book.upsert(code(number), t.clone());
    }
    book
}

#[test]
fn barcodes_are_normalised_in_one_place() {
    assert_eq!(code("  ABC123\r\n").as_str(), "ABC123");
    assert_eq!(code("\tABC\u{1d}123").as_str(), "ABC123", "wedge scanners' GS separators are dropped");
    assert_ne!(code("abc"), code("ABC"), "case is kept");
    assert_eq!(Barcode::parse(" \r\n"), Err(BarcodeError::Empty));
    assert_eq!(Barcode::parse(&"9".repeat(513)), Err(BarcodeError::TooLong));
}

#[test]
fn single_pass_admits_once_then_names_the_first_scan() {
    let mut book = book_with(&[("T1", ticket(P1, TicketState::Valid, "general"))]);
    let checkpoint = door(Mode::SinglePass);
    let first = book.scan(&code("T1"), &checkpoint, &scan_at("2026-06-01T19:00:00Z", "door-a"));
    assert_eq!(first, Verdict::Accepted { direction: Direction::In });
    assert_eq!(first.colour(), Colour::Green);
    let again = book.scan(&code("T1"), &checkpoint, &scan_at("2026-06-01T19:05:00Z", "door-b"));
    assert_eq!(
        refusal(again),
        Refusal::AlreadyScanned { first_at: at("2026-06-01T19:00:00Z"), device: "door-a".into() }
    );
}

#[test]
fn entry_exit_entry_then_already_inside() {
    let mut book = book_with(&[("T1", ticket(P1, TicketState::Valid, "general"))]);
    let mut checkpoint = door(Mode::EntryExit { direction: Direction::In });
    let number = code("T1");
    assert!(book.scan(&number, &checkpoint, &scan_at("2026-06-01T19:00:00Z", "d")).is_accepted());
    assert_eq!(refusal(book.scan(&number, &checkpoint, &scan_at("2026-06-01T19:01:00Z", "d"))), Refusal::AlreadyInside);
    checkpoint.mode = Mode::EntryExit { direction: Direction::Out };
    assert_eq!(
        book.scan(&number, &checkpoint, &scan_at("2026-06-01T20:00:00Z", "d")),
        Verdict::Accepted { direction: Direction::Out }
    );
    checkpoint.mode = Mode::EntryExit { direction: Direction::In };
    assert!(book.scan(&number, &checkpoint, &scan_at("2026-06-01T20:30:00Z", "d")).is_accepted());
}

#[test]
fn exit_before_any_entry_is_an_orange_anomaly() {
    let book = book_with(&[("T1", ticket(P1, TicketState::Valid, "general"))]);
    let checkpoint = door(Mode::EntryExit { direction: Direction::Out });
    let verdict = book.decide(&code("T1"), &checkpoint, &scan_at("2026-06-01T19:00:00Z", "d"));
    assert_eq!(verdict.colour(), Colour::Orange);
    assert_eq!(refusal(verdict), Refusal::ExitWithoutEntry);
}

#[test]
fn multi_pass_total_quota() {
    let mut book = book_with(&[("T1", ticket(P1, TicketState::Valid, "pass"))]);
    let checkpoint = door(Mode::MultiPass { max_total: Some(2), max_per_day: None });
    assert!(book.scan(&code("T1"), &checkpoint, &scan_at("2026-06-01T10:00:00Z", "d")).is_accepted());
    assert!(book.scan(&code("T1"), &checkpoint, &scan_at("2026-06-02T10:00:00Z", "d")).is_accepted());
    assert_eq!(
        refusal(book.scan(&code("T1"), &checkpoint, &scan_at("2026-06-03T10:00:00Z", "d"))),
        Refusal::TotalQuotaReached { max: 2 }
    );
}

/// One entry a day: the day turns at midnight in Paris, not in UTC.
fn daily_quota_turns_at_local_midnight(last_evening: &str, just_before: &str, just_after: &str) {
    let mut book = book_with(&[("T1", ticket(P1, TicketState::Valid, "pass"))]);
    let checkpoint = door(Mode::MultiPass { max_total: None, max_per_day: Some(1) });
    assert!(book.scan(&code("T1"), &checkpoint, &scan_at(last_evening, "d")).is_accepted());
    assert_eq!(
        refusal(book.scan(&code("T1"), &checkpoint, &scan_at(just_before, "d"))),
        Refusal::DailyQuotaReached { max: 1 }
    );
    assert!(book.scan(&code("T1"), &checkpoint, &scan_at(just_after, "d")).is_accepted());
}

#[test]
fn per_day_quota_resets_at_local_midnight() {
    // Summer (UTC+2): local midnight is 22:00 UTC.
    daily_quota_turns_at_local_midnight("2026-06-01T08:00:00Z", "2026-06-01T21:59:00Z", "2026-06-01T22:01:00Z");
}

#[test]
fn per_day_quota_on_daylight_saving_days() {
    // 29 March 2026: Paris goes from UTC+1 to UTC+2; the next midnight is 22:00 UTC.
    daily_quota_turns_at_local_midnight("2026-03-28T23:30:00Z", "2026-03-29T21:59:00Z", "2026-03-29T22:01:00Z");
    // 25 October 2026: back to UTC+1, a 25-hour day; the next midnight is 23:00 UTC.
    daily_quota_turns_at_local_midnight("2026-10-24T22:30:00Z", "2026-10-25T22:59:00Z", "2026-10-25T23:01:00Z");
    assert_eq!(Paris.with_ymd_and_hms(2026, 10, 26, 0, 0, 0).single().map(|t| t.to_utc()), Some(at("2026-10-25T23:00:00Z")));
}

#[test]
fn states_that_never_enter() {
    let book = book_with(&[
        ("C", ticket(P1, TicketState::Cancelled, "general")),
        ("D", ticket(P1, TicketState::Duplicated, "general")),
        ("U", ticket(P1, TicketState::Unknown, "general")),
    ]);
    let checkpoint = door(Mode::SinglePass);
    let now = scan_at("2026-06-01T19:00:00Z", "d");
    assert_eq!(refusal(book.decide(&code("C"), &checkpoint, &now)), Refusal::Cancelled);
    assert_eq!(refusal(book.decide(&code("D"), &checkpoint, &now)), Refusal::Reissued);
    let unsettled = book.decide(&code("U"), &checkpoint, &now);
    assert_eq!(unsettled.colour(), Colour::Orange, "send the holder to the box office");
    assert_eq!(refusal(unsettled), Refusal::UnknownStateTicket);
    assert_eq!(book.decide(&code("C"), &checkpoint, &now).colour(), Colour::Red);
    assert_eq!(refusal(book.decide(&code("nope"), &checkpoint, &now)), Refusal::UnknownNumber);
}

#[test]
fn cancelled_after_being_scanned() {
    let mut book = book_with(&[("T1", ticket(P1, TicketState::Valid, "general"))]);
    let checkpoint = door(Mode::EntryExit { direction: Direction::In });
    assert!(book.scan(&code("T1"), &checkpoint, &scan_at("2026-06-01T19:00:00Z", "d")).is_accepted());
    book.upsert(code("T1"), ticket(P1, TicketState::Cancelled, "general"));
    assert_eq!(
        refusal(book.decide(&code("T1"), &checkpoint, &scan_at("2026-06-01T19:30:00Z", "d"))),
        Refusal::Cancelled
    );
}

#[test]
fn two_performances_under_control_and_one_that_is_not() {
    let book = book_with(&[
        ("A", ticket(P1, TicketState::Valid, "general")),
        ("B", ticket(P2, TicketState::Valid, "general")),
    ]);
    let mut checkpoint = door(Mode::SinglePass);
    let now = scan_at("2026-06-01T19:00:00Z", "d");
    assert_eq!(refusal(book.decide(&code("B"), &checkpoint, &now)), Refusal::OtherPerformance { performance: P2 });
    checkpoint.under_control = vec![P1, P2];
    assert!(book.decide(&code("A"), &checkpoint, &now).is_accepted());
    assert!(book.decide(&code("B"), &checkpoint, &now).is_accepted());
    checkpoint.under_control.clear();
    assert_eq!(refusal(book.decide(&code("A"), &checkpoint, &now)), Refusal::PerformanceNotUnderControl);
}

#[test]
fn filtered_category_unless_already_in() {
    let mut book = book_with(&[
        ("VIP", ticket(P1, TicketState::Valid, "vip")),
        ("GEN", ticket(P1, TicketState::Valid, "general")),
    ]);
    let mut checkpoint = door(Mode::EntryExit { direction: Direction::In });
    assert!(book.scan(&code("VIP"), &checkpoint, &scan_at("2026-06-01T19:00:00Z", "d")).is_accepted());
    checkpoint.excluded = vec![(P1, "vip".into())];
    let later = scan_at("2026-06-01T19:10:00Z", "d");
    assert_eq!(refusal(book.decide(&code("VIP"), &checkpoint, &later)), Refusal::AlreadyInside);
    assert!(book.decide(&code("GEN"), &checkpoint, &later).is_accepted());
    let other_vip = book_with(&[("VIP2", ticket(P1, TicketState::Valid, "vip"))]);
    assert_eq!(
        refusal(other_vip.decide(&code("VIP2"), &checkpoint, &later)),
        Refusal::FilteredCategory { category: "vip".into() }
    );
}

#[test]
fn undated_performance_outside_its_window() {
    let window = ValidityWindow { from: at("2026-06-01T08:00:00Z"), to: at("2026-06-30T18:00:00Z") };
    let book = book_with(&[("EXPO", Ticket { window: Some(window), ..ticket(P1, TicketState::Valid, "adult") })]);
    let checkpoint = door(Mode::SinglePass);
    let expected = Refusal::NotValidNow { from: window.from, to: window.to };
    assert_eq!(refusal(book.decide(&code("EXPO"), &checkpoint, &scan_at("2026-05-31T12:00:00Z", "d"))), expected);
    assert_eq!(refusal(book.decide(&code("EXPO"), &checkpoint, &scan_at("2026-06-30T18:00:01Z", "d"))), expected);
    assert!(book.decide(&code("EXPO"), &checkpoint, &scan_at("2026-06-15T12:00:00Z", "d")).is_accepted());
}

#[test]
fn verdicts_cross_the_wire_unchanged() {
    let verdict = Verdict::Refused {
        reason: Refusal::AlreadyScanned { first_at: at("2026-06-01T19:00:00Z"), device: "door-a".into() },
    };
    let json = serde_json::to_string(&verdict).expect("serialise");
    assert_eq!(serde_json::from_str::<Verdict>(&json).expect("deserialise"), verdict);
}

proptest! {
    /// Single pass: whatever the order, each valid ticket is admitted exactly once, and every
    /// later scan names the device of that first admission.
    #[test]
    fn single_pass_admits_each_valid_ticket_once(
        states in prop::collection::vec(prop_oneof![
            4 => Just(TicketState::Valid), 1 => Just(TicketState::Cancelled), 1 => Just(TicketState::Unknown)
        ], 1..30),
        scans in prop::collection::vec((0usize..40, 0usize..3), 0..200),
    ) {
        let mut book = TicketBook::new();
        for (i, state) in states.iter().enumerate() {
            book.upsert(code(&format!("T{i}")), ticket(P1, *state, "general"));
        }
        let checkpoint = door(Mode::SinglePass);
        let devices = ["a", "b", "c"];
        let mut admitted_by: Vec<Option<&str>> = vec![None; states.len()];
        for (step, (which, device)) in scans.iter().enumerate() {
            let scan = Scan { at: Utc.timestamp_opt(1_780_000_000 + step as i64, 0).unwrap(), device: devices[*device] };
            let verdict = book.scan(&code(&format!("T{which}")), &checkpoint, &scan);
            match states.get(*which) {
                None => prop_assert_eq!(refusal(verdict), Refusal::UnknownNumber),
                Some(TicketState::Valid) => match admitted_by[*which] {
                    None => {
                        prop_assert!(verdict.is_accepted());
                        admitted_by[*which] = Some(devices[*device]);
                    }
                    Some(first) => match refusal(verdict) {
                        Refusal::AlreadyScanned { device, .. } => prop_assert_eq!(device.as_str(), first),
                        other => prop_assert!(false, "unexpected {:?}", other),
                    },
                },
                Some(_) => prop_assert!(!verdict.is_accepted()),
            }
        }
    }

    /// Entry/exit: a ticket's accepted crossings alternate in, out, in… starting with in.
    #[test]
    fn entry_exit_alternates(directions in prop::collection::vec(any::<bool>(), 0..60)) {
        let mut book = book_with(&[("T", ticket(P1, TicketState::Valid, "general"))]);
        let mut accepted = Vec::new();
        for (step, going_in) in directions.iter().enumerate() {
            let direction = if *going_in { Direction::In } else { Direction::Out };
            let checkpoint = door(Mode::EntryExit { direction });
            let scan = Scan { at: Utc.timestamp_opt(1_780_000_000 + step as i64, 0).unwrap(), device: "d" };
            if let Verdict::Accepted { direction } = book.scan(&code("T"), &checkpoint, &scan) {
                accepted.push(direction);
            }
        }
        for (i, direction) in accepted.iter().enumerate() {
            let expected = if i % 2 == 0 { Direction::In } else { Direction::Out };
            prop_assert_eq!(*direction, expected);
        }
    }
}

/// The server "agrees" with a device when the person at the door is treated alike: the first
/// pass's time or device, known differently on each side, does not matter.
#[test]
fn same_decision_ignores_details_but_not_the_outcome() {
    let seen_here = Verdict::Refused { reason: Refusal::AlreadyScanned { first_at: at("2026-05-01T20:00:00Z"), device: "PDA-1".into() } };
    let seen_there = Verdict::Refused { reason: Refusal::AlreadyScanned { first_at: at("2026-05-01T20:00:03Z"), device: "PDA-2".into() } };
    let admitted = Verdict::Accepted { direction: Direction::In };
    assert!(seen_here.same_decision(&seen_there));
    assert!(admitted.same_decision(&admitted));
    assert!(!admitted.same_decision(&seen_here));
    assert!(!admitted.same_decision(&Verdict::Accepted { direction: Direction::Out }));
    assert!(!seen_here.same_decision(&Verdict::Refused { reason: Refusal::Cancelled }));
}
