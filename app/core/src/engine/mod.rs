//! The one decision engine: whether a ticket passes a checkpoint. Pure (no I/O, no clock, no
//! randomness), compiled into the server and into the WASM scanner, so a device offline and
//! the server online decide alike.

mod barcode;
mod book;
mod checkpoint;
mod decide;
mod gate;
mod ticket;
mod verdict;

#[cfg(test)]
mod tests;

pub use barcode::{Barcode, BarcodeError};
pub use book::TicketBook;
pub use checkpoint::{Checkpoint, Mode};
pub use decide::{Scan, decide, pass_for};
pub use gate::{CategoryRule, EntryWindow, Gate, GateError, Gates, Timing};
pub use ticket::{Direction, Pass, Ticket, TicketState, ValidityWindow};
// Its home is `crate::ids`; the engine speaks of it everywhere.
pub use crate::ids::PerformanceId;
pub use verdict::{Colour, Refusal, Verdict};
