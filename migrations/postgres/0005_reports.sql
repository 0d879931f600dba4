-- Reports (SPEC §3): a page of 100,000 tickets sorted on any column without sorting them all,
-- and the scans of a performance grouped per ticket from the index alone. Missing holders sort
-- first ascending, as on SQLite.
CREATE INDEX tickets_report_state ON tickets (performance_id, state, barcode);
CREATE INDEX tickets_report_category ON tickets (performance_id, category, barcode);
-- Totals by category from the index alone.
CREATE INDEX tickets_report_totals ON tickets (performance_id, category, state);
CREATE INDEX tickets_report_holder ON tickets (performance_id, holder NULLS FIRST, barcode);
CREATE INDEX scans_report_figures ON scans (performance_id, ticket_id, admitted, direction, scanned_at, anomaly);
-- A ticket's history, every scan (admitted or not).
CREATE INDEX scans_ticket_history ON scans (ticket_id, scanned_at);
