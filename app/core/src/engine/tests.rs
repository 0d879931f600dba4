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
    Checkpoint { mode, under_control: vec![P1], excluded: vec![], time_zone: Paris, gates: Gates::default() }
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

// Gates: the rules set in the back office for every device that joins one.

fn hm(h: u32, m: u32) -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(h, m, 0).expect("test time of day")
}

fn window(opens: (u32, u32), last_entry: (u32, u32)) -> EntryWindow {
    EntryWindow { opens: hm(opens.0, opens.1), last_entry: hm(last_entry.0, last_entry.1) }
}

fn gate(name: &str, categories: &[&str]) -> Gate {
    Gate {
        name: name.into(),
        mode: Mode::SinglePass,
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        window: None,
        per_category: Vec::new(),
    }
}

fn at_gate(joined: Gate, others: Vec<Gate>) -> Checkpoint {
    let mode = joined.mode_for(Direction::In);
    Checkpoint { gates: Gates { joined: Some(joined), others }, ..door(mode) }
}

#[test]
fn wrong_entrance_names_the_gates_that_admit_the_category() {
    let book = book_with(&[
        ("GEN", ticket(P1, TicketState::Valid, "general")),
        ("VIP", ticket(P1, TicketState::Valid, "vip")),
        ("PRESS", ticket(P1, TicketState::Valid, "press")),
    ]);
    let others = vec![gate("Salon VIP", &["vip"]), gate("Main", &[]), gate("Staff", &["staff"])];
    let north = at_gate(gate("North", &["general"]), others);
    let now = scan_at("2026-06-01T19:00:00Z", "d");
    assert!(book.decide(&code("GEN"), &north, &now).is_accepted());
    let refused = book.decide(&code("VIP"), &north, &now);
    assert_eq!(refused.colour(), Colour::Red);
    assert_eq!(
        refusal(refused),
        Refusal::WrongEntrance { category: "vip".into(), gates: vec!["Salon VIP".into(), "Main".into()] },
        "the gates that let VIPs in, in the back office's order; not Staff"
    );
    let alone = at_gate(gate("North", &["general"]), vec![]);
    assert_eq!(refusal(book.decide(&code("PRESS"), &alone, &now)), Refusal::WrongEntrance { category: "press".into(), gates: vec![] });
    assert!(book.decide(&code("PRESS"), &at_gate(gate("Main", &[]), vec![]), &now).is_accepted(), "no category listed: every one");
}

#[test]
fn a_wrong_entrance_still_lets_out_and_answers_already_inside_first() {
    let mut book = book_with(&[("VIP", ticket(P1, TicketState::Valid, "vip"))]);
    let mut main = gate("Main", &[]);
    main.mode = Mode::EntryExit { direction: Direction::In };
    assert!(book.scan(&code("VIP"), &at_gate(main.clone(), vec![]), &scan_at("2026-06-01T19:00:00Z", "d")).is_accepted());
    let mut north = gate("North", &["general"]);
    north.mode = Mode::EntryExit { direction: Direction::In };
    let inside = book.decide(&code("VIP"), &at_gate(north.clone(), vec![main]), &scan_at("2026-06-01T19:10:00Z", "d"));
    assert_eq!(refusal(inside), Refusal::AlreadyInside);
    let going_out = Checkpoint { mode: north.mode_for(Direction::Out), ..at_gate(north, vec![]) };
    assert_eq!(
        book.decide(&code("VIP"), &going_out, &scan_at("2026-06-01T19:20:00Z", "d")),
        Verdict::Accepted { direction: Direction::Out },
        "anyone inside may leave by any gate"
    );
}

#[test]
fn too_early_and_too_late_name_the_time_with_an_early_entry_for_one_category() {
    let book = book_with(&[("GEN", ticket(P1, TicketState::Valid, "general")), ("VIP", ticket(P1, TicketState::Valid, "vip"))]);
    let mut main = gate("Main", &[]);
    main.window = Some(window((19, 0), (23, 30)));
    main.per_category =
        vec![CategoryRule { category: "vip".into(), window: Some(window((18, 0), (23, 30))), instruction: Some("Wristband".into()) }];
    let checkpoint = at_gate(main.clone(), vec![]);
    // June: Paris is UTC+2.
    let decide = |number: &str, when: &str| book.decide(&code(number), &checkpoint, &scan_at(when, "d"));
    assert_eq!(refusal(decide("GEN", "2026-06-01T06:00:00Z")), Refusal::TooEarly { opens: hm(19, 0) }, "08:00, the morning of the show");
    assert_eq!(refusal(decide("GEN", "2026-06-01T16:59:59Z")), Refusal::TooEarly { opens: hm(19, 0) });
    assert!(decide("GEN", "2026-06-01T17:00:00Z").is_accepted());
    assert!(decide("VIP", "2026-06-01T16:00:00Z").is_accepted(), "VIPs enter from 18:00");
    assert_eq!(refusal(decide("VIP", "2026-06-01T15:59:00Z")), Refusal::TooEarly { opens: hm(18, 0) });
    assert!(decide("GEN", "2026-06-01T21:30:59Z").is_accepted(), "last entry 23:30: its whole minute");
    assert_eq!(refusal(decide("GEN", "2026-06-01T21:31:00Z")), Refusal::TooLate { last_entry: hm(23, 30) });
    assert_eq!(decide("GEN", "2026-06-01T21:31:00Z").colour(), Colour::Red);
    assert_eq!(main.instruction_for("vip"), Some("Wristband"));
    assert_eq!(main.instruction_for("general"), None);
}

#[test]
fn a_window_across_midnight() {
    let book = book_with(&[("T", ticket(P1, TicketState::Valid, "general"))]);
    let mut club = gate("Club", &[]);
    club.window = Some(window((22, 0), (2, 0)));
    let checkpoint = at_gate(club, vec![]);
    let decide = |when: &str| book.decide(&code("T"), &checkpoint, &scan_at(when, "d"));
    // June: local = UTC+2.
    assert_eq!(refusal(decide("2026-06-05T19:59:00Z")), Refusal::TooEarly { opens: hm(22, 0) }, "21:59");
    assert!(decide("2026-06-05T20:00:00Z").is_accepted(), "22:00");
    assert!(decide("2026-06-05T21:59:00Z").is_accepted(), "23:59");
    assert!(decide("2026-06-05T22:30:00Z").is_accepted(), "00:30 the next day");
    assert!(decide("2026-06-05T23:59:59Z").is_accepted(), "01:59:59");
    assert!(decide("2026-06-06T00:00:59Z").is_accepted(), "02:00:59, the last entry's minute");
    assert_eq!(refusal(decide("2026-06-06T00:01:00Z")), Refusal::TooLate { last_entry: hm(2, 0) }, "02:01");
    assert_eq!(refusal(decide("2026-06-06T09:00:00Z")), Refusal::TooLate { last_entry: hm(2, 0) }, "11:00, nearer the last entry");
    assert_eq!(refusal(decide("2026-06-06T11:00:00Z")), Refusal::TooEarly { opens: hm(22, 0) }, "13:00, nearer the opening");
}

#[test]
fn windows_on_the_daylight_saving_days_in_paris() {
    let book = book_with(&[("T", ticket(P1, TicketState::Valid, "general"))]);
    let with_window = |w: EntryWindow| {
        let mut g = gate("Main", &[]);
        g.window = Some(w);
        at_gate(g, vec![])
    };
    let evening = with_window(window((19, 0), (23, 30)));
    let decide = |checkpoint: &Checkpoint, when: &str| book.decide(&code("T"), checkpoint, &scan_at(when, "d"));
    // 28 March 2026 is UTC+1, 29 March UTC+2: 19:00 is 18:00 UTC, then 17:00 UTC.
    assert!(decide(&evening, "2026-03-28T18:00:00Z").is_accepted());
    assert_eq!(refusal(decide(&evening, "2026-03-28T17:30:00Z")), Refusal::TooEarly { opens: hm(19, 0) });
    assert!(decide(&evening, "2026-03-29T17:30:00Z").is_accepted(), "19:30 on the venue's clock");
    assert_eq!(refusal(decide(&evening, "2026-03-29T21:31:00Z")), Refusal::TooLate { last_entry: hm(23, 30) }, "23:31 CEST");
    // A night across the spring change: 02:30 never shows on 29 March (02:00 → 03:00); the
    // window closes at 03:30 CEST, as long after the opening as 02:30 would have been.
    let night = with_window(window((22, 0), (2, 30)));
    assert!(decide(&night, "2026-03-29T01:00:00Z").is_accepted(), "03:00 CEST, 4 h after the opening");
    assert!(decide(&night, "2026-03-29T01:30:59Z").is_accepted());
    assert_eq!(refusal(decide(&night, "2026-03-29T01:31:00Z")), Refusal::TooLate { last_entry: hm(2, 30) });
    // The autumn change: 02:00–03:00 shows twice on 25 October; the last entry is the first 02:30.
    assert!(decide(&night, "2026-10-25T00:30:00Z").is_accepted(), "02:30 CEST");
    assert_eq!(refusal(decide(&night, "2026-10-25T00:31:00Z")), Refusal::TooLate { last_entry: hm(2, 30) }, "02:31 CEST");
    assert_eq!(refusal(decide(&night, "2026-10-25T01:20:00Z")), Refusal::TooLate { last_entry: hm(2, 30) }, "02:20 CET, the second time");
    assert!(decide(&night, "2026-10-25T21:00:00Z").is_accepted(), "22:00 CET the same evening");
    assert_eq!(refusal(decide(&night, "2026-10-25T20:59:00Z")), Refusal::TooEarly { opens: hm(22, 0) });
}

#[test]
fn a_gate_decides_with_its_own_mode() {
    let mut book = book_with(&[("T", ticket(P1, TicketState::Valid, "pass"))]);
    let mut festival = gate("Festival", &[]);
    festival.mode = Mode::MultiPass { max_total: Some(2), max_per_day: Some(1) };
    let checkpoint = at_gate(festival, vec![]);
    assert!(book.scan(&code("T"), &checkpoint, &scan_at("2026-06-01T10:00:00Z", "d")).is_accepted());
    assert_eq!(refusal(book.scan(&code("T"), &checkpoint, &scan_at("2026-06-01T12:00:00Z", "d"))), Refusal::DailyQuotaReached { max: 1 });
    assert!(book.scan(&code("T"), &checkpoint, &scan_at("2026-06-02T10:00:00Z", "d")).is_accepted());
    assert_eq!(refusal(book.scan(&code("T"), &checkpoint, &scan_at("2026-06-03T10:00:00Z", "d"))), Refusal::TotalQuotaReached { max: 2 });
}

#[test]
fn gate_rules_are_checked_before_they_are_kept() {
    let mut g = gate("  ", &[]);
    assert_eq!(g.check(), Err(GateError::NoName));
    g.name = "North".into();
    assert_eq!(g.check(), Ok(()));
    g.mode = Mode::MultiPass { max_total: Some(0), max_per_day: None };
    assert_eq!(g.check(), Err(GateError::ZeroLimit));
    g.mode = Mode::SinglePass;
    let rule = CategoryRule { category: "vip".into(), window: None, instruction: None };
    g.per_category = vec![rule.clone(), rule];
    assert_eq!(g.check(), Err(GateError::TwoRules("vip".into())));
    g.per_category.clear();
    g.categories = vec!["x".repeat(121)];
    assert!(matches!(g.check(), Err(GateError::TooLong(_))));
}

#[test]
fn gate_verdicts_cross_the_wire_unchanged() {
    for reason in [
        Refusal::WrongEntrance { category: "vip".into(), gates: vec!["Salon".into()] },
        Refusal::TooEarly { opens: hm(19, 0) },
        Refusal::TooLate { last_entry: hm(2, 30) },
    ] {
        let verdict = Verdict::Refused { reason };
        let json = serde_json::to_string(&verdict).expect("serialise");
        assert_eq!(serde_json::from_str::<Verdict>(&json).expect("deserialise"), verdict);
    }
}

fn any_window() -> impl Strategy<Value = EntryWindow> {
    (0u32..24, 0u32..4, 0u32..24, 0u32..4).prop_map(|(h1, q1, h2, q2)| window((h1, q1 * 15), (h2, q2 * 15)))
}

fn any_gate() -> impl Strategy<Value = Gate> {
    let categories = prop::sample::subsequence(vec!["general", "vip", "press"], 0..=3);
    let rules = prop::collection::vec((prop::sample::select(vec!["general", "vip", "press"]), prop::option::of(any_window())), 0..3);
    (categories, prop::option::of(any_window()), rules).prop_map(|(categories, window, rules)| {
        let mut per_category: Vec<CategoryRule> = Vec::new();
        for (category, window) in rules {
            if per_category.iter().all(|r| r.category != category) {
                per_category.push(CategoryRule { category: category.into(), window, instruction: None });
            }
        }
        Gate {
            name: "Gate".into(),
            mode: Mode::EntryExit { direction: Direction::In },
            categories: categories.into_iter().map(String::from).collect(),
            window,
            per_category,
        }
    })
}

proptest! {
    /// A window's opening minute is open and the second before it is not, every day of a
    /// year in Paris (both changes included), unless the window runs round the clock.
    #[test]
    fn a_window_opens_at_its_opening_on_the_venues_clock(w in any_window(), day in 0u64..365) {
        prop_assume!(w.last_entry.signed_duration_since(w.opens) != chrono::Duration::minutes(-1));
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date") + chrono::Days::new(day);
        let Some(opening) = Paris.from_local_datetime(&date.and_time(w.opens)).single() else { return Ok(()) };
        let opening = opening.to_utc();
        prop_assert_eq!(w.timing(opening, Paris), Timing::Open);
        let just_before = opening - chrono::Duration::seconds(1);
        // A window of one day that opens at midnight has the day before's last entry behind it.
        let expected = if w.opens == hm(0, 0) && !w.crosses_midnight() { Timing::TooLate } else { Timing::TooEarly };
        prop_assert_eq!(w.timing(just_before, Paris), expected, "{:?} on {}", w, date);
    }

    /// Whatever the gate, an admission through it is of a category it lets in, within that
    /// category's window; every exit of someone inside is let out; and a gate with no
    /// category and no window decides as a door that joined no gate.
    #[test]
    fn a_gate_admits_only_what_its_rules_allow(
        gate in any_gate(),
        tickets in prop::collection::vec(prop::sample::select(vec!["general", "vip", "press"]), 1..6),
        scans in prop::collection::vec((0usize..6, any::<bool>(), 0i64..(3 * 24 * 60)), 0..40),
    ) {
        let mut book = TicketBook::new();
        let mut plain = TicketBook::new();
        for (i, category) in tickets.iter().enumerate() {
            book.upsert(code(&format!("T{i}")), ticket(P1, TicketState::Valid, category));
            plain.upsert(code(&format!("T{i}")), ticket(P1, TicketState::Valid, category));
        }
        let open_gate = Gate { categories: vec![], window: None, per_category: vec![], ..gate.clone() };
        for (which, going_in, minute) in scans {
            let direction = if going_in { Direction::In } else { Direction::Out };
            let at = at("2026-10-24T00:00:00Z") + chrono::Duration::minutes(minute);
            let scan = Scan { at, device: "d" };
            let number = code(&format!("T{which}"));
            let checkpoint = Checkpoint { mode: gate.mode_for(direction), ..at_gate(gate.clone(), vec![]) };
            let inside_before = matches!(book.decide(&number, &Checkpoint { mode: Mode::EntryExit { direction: Direction::In }, ..door(Mode::SinglePass) }, &scan), Verdict::Refused { reason: Refusal::AlreadyInside });
            let verdict = book.scan(&number, &checkpoint, &scan);
            if let Some(category) = tickets.get(which) {
                match &verdict {
                    Verdict::Accepted { direction: Direction::In } => {
                        prop_assert!(gate.admits(category));
                        if let Some(w) = gate.window_for(category) {
                            prop_assert_eq!(w.timing(at, Paris), Timing::Open);
                        }
                    }
                    Verdict::Refused { reason: Refusal::ExitWithoutEntry } => prop_assert!(!going_in && !inside_before),
                    _ => {}
                }
                if !going_in && inside_before {
                    prop_assert_eq!(&verdict, &Verdict::Accepted { direction: Direction::Out });
                }
            }
            let at_open_gate = Checkpoint { mode: open_gate.mode_for(direction), ..at_gate(open_gate.clone(), vec![]) };
            let without_gate = door(open_gate.mode_for(direction));
            prop_assert_eq!(plain.decide(&number, &at_open_gate, &scan), plain.decide(&number, &without_gate, &scan));
            plain.scan(&number, &without_gate, &scan);
        }
    }
}
