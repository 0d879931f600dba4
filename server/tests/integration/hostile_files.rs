//! Files an attacker or a broken export could send, over HTTP on both databases: each gets a
//! clear refusal and the server keeps answering.

use crate::support;

use app::domain::SourceKind;
use app::error::AppError;
use support::api::Whoami;
use support::{ADMIN_PASSWORD, fields};

/// Finding 1 of the security review: a 1.5 KB .xlsx holding A1 and XFD1048576 aborted the
/// server process (a dense 512 GiB range), taking every door of every institution with it.
async fn a_tiny_xlsx_with_a_huge_range_is_refused_and_the_server_stays_up(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Théâtre").await;
    let source = admin.a_source(institution, SourceKind::File, "Fichier", fields([])).await;

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "barcode").expect("cell");
    sheet.write_string(1_048_575, 16_383, "x").expect("cell");
    let hostile = book.save_to_buffer().expect("xlsx");
    for dry_run in [true, false] {
        let (status, error) = admin.upload(performance, source, "t.xlsx", dry_run, &hostile).await;
        assert_eq!(status, 422, "{error:?}");
        let error = error.expect_err("an AppError");
        assert!(matches!(&error, AppError::FileUnreadable(why) if why.contains("column 16384")), "{error:?}");
    }
    assert!(admin.call(Whoami {}).await.is_ok(), "the server still answers");
    assert!(app.tickets_by_code(performance).await.is_empty());
}
on_both_backends!(a_tiny_xlsx_with_a_huge_range_is_refused_and_the_server_stays_up);

/// Finding 26: on PostgreSQL a number listed twice in one file (sold, then cancelled) failed
/// the whole import; it now counts as its last row on both databases.
async fn a_number_listed_twice_counts_as_its_last_row(backend: support::Backend) {
    let Some(app) = support::spawn_app(backend).await else { return };
    let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
    let (institution, performance) = app.a_performance(&admin, "Stade").await;
    let secutix = admin.a_source(institution, SourceKind::SecutixReseller, "SecuTix", fields([])).await;
    let reseller = "10000191230535;PRINTED;F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n\
                    10000191230536;PRINTED;F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n\
                    10000191230535;CANCELLED;F1;P1;Match;2030-06-01;T1;Plein;42.00;2030-05-01;C9\n";
    let (status, imported) = admin.upload(performance, secutix, "r.csv", false, reseller.as_bytes()).await;
    assert_eq!(status, 200, "{imported:?}");
    let tickets = app.tickets_by_code(performance).await;
    assert_eq!(tickets.len(), 2);
    assert_eq!(tickets["10000191230535"].0, "cancelled", "the last row wins");
    assert_eq!(tickets["10000191230536"].0, "valid");
}
on_both_backends!(a_number_listed_twice_counts_as_its_last_row);
