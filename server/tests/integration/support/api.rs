//! The server functions the tests call, by the argument structs `#[server]` generates for each
//! (`CreateVenue` for `create_venue`…): `client.call(CreateVenue { … })` posts them to the
//! function's own path and decodes its own answer type, so a renamed field or function fails
//! to compile here instead of failing at run time in the test.

pub use app::pages::account::ChangePassword;
pub use app::pages::backoffice::automatic::{
    CreateFromPartner, PartnerEvents, PartnerEventsProgress,
};
pub use app::pages::backoffice::institutions::{
    CreateInstitution, ListInstitutions, OpenInstitution, ScanDeadline, SetScanDeadline,
};
pub use app::pages::backoffice::performances::{
    CategoryFilters, CreateEvent, CreatePerformance, CreateVenue, DeleteGate, PerformanceGates,
    PerformanceGrid, RenameEvent, RenameVenue, SaveGate, SetArchived, SetCategoryFilters, SetPdaOpen,
    UpdatePerformance,
};
pub use app::pages::backoffice::reports::{FetchReportPage, FetchTicketHistory};
pub use app::pages::backoffice::sources::{
    AttachSource, DeleteSource, DetachSource, InstitutionSources, PerformanceSources,
    RefreshSource, SaveSource,
};
pub use app::pages::backoffice::usage::UsageReport;
pub use app::pages::backoffice::users::{
    AddMember, AddableLogins, CreateLogin, ListMembers, RemoveMember, ResetPassword,
    SetLoginDisabled, SetMaster, SetRights,
};
pub use app::me::{SignOut, Whoami};
pub use app::pages::signin::{ClearSigninDelays, SignIn};
pub use app::sync::api::{Scan, SyncDelta, SyncHolders, SyncSnapshot, SyncUpload};
