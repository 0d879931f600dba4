//! Sources of ticket numbers (SPEC §5) as the back office and the server share them: the kinds,
//! the parameters each kind asks for, and what is shown of a source and of its attachment to a
//! performance. Parsing a kind's parameters into a working connector is the connector's job
//! (`server/src/sources/`); here is only what the form needs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{Millis, PerformanceId, SourceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// CSV or XLSX uploaded by the institution, columns mapped to ticket fields.
    File,
    /// SecuTix reseller flat file (`BAR_CODE;TICKET_STATE;…`).
    SecutixReseller,
    /// SecuTix white list (7 columns, no header).
    SecutixWhitelist,
    /// Ticketnet / Ticketmaster France sales file with correspondence tables.
    Ticketnet,
    Shotgun,
    Weezevent,
    Billetweb,
    Eventbrite,
    /// SecuTix access-control web service (exportList / importControlledTicket).
    Secutix,
    /// TIXNGO wallet: status diff feed and controlled tickets.
    Tixngo,
}

impl SourceKind {
    pub const ALL: [SourceKind; 10] = [
        SourceKind::File,
        SourceKind::SecutixReseller,
        SourceKind::SecutixWhitelist,
        SourceKind::Ticketnet,
        SourceKind::Shotgun,
        SourceKind::Weezevent,
        SourceKind::Billetweb,
        SourceKind::Eventbrite,
        SourceKind::Secutix,
        SourceKind::Tixngo,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::SecutixReseller => "secutix_reseller",
            SourceKind::SecutixWhitelist => "secutix_whitelist",
            SourceKind::Ticketnet => "ticketnet",
            SourceKind::Shotgun => "shotgun",
            SourceKind::Weezevent => "weezevent",
            SourceKind::Billetweb => "billetweb",
            SourceKind::Eventbrite => "eventbrite",
            SourceKind::Secutix => "secutix",
            SourceKind::Tixngo => "tixngo",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            SourceKind::File => "CSV / Excel",
            SourceKind::SecutixReseller => "SecuTix (reseller file)",
            SourceKind::SecutixWhitelist => "SecuTix (white list)",
            SourceKind::Ticketnet => "Ticketnet / Ticketmaster (sales file)",
            SourceKind::Shotgun => "Shotgun",
            SourceKind::Weezevent => "Weezevent",
            SourceKind::Billetweb => "Billetweb",
            SourceKind::Eventbrite => "Eventbrite",
            SourceKind::Secutix => "SecuTix (access-control web service)",
            SourceKind::Tixngo => "TIXNGO (wallet)",
        }
    }

    /// The title for French readers (brand names stay as they are).
    pub fn title_fr(self) -> &'static str {
        match self {
            SourceKind::SecutixReseller => "SecuTix (fichier revendeur)",
            SourceKind::SecutixWhitelist => "SecuTix (liste blanche)",
            SourceKind::Ticketnet => "Ticketnet / Ticketmaster (fichier de ventes)",
            SourceKind::Secutix => "SecuTix (service web de contrôle d'accès)",
            SourceKind::Tixngo => "TIXNGO (portefeuille)",
            other => other.title(),
        }
    }

    /// File kinds take uploads, are cumulative and exist at most once per institution; the
    /// others are web services, refreshed on a schedule.
    pub fn is_file(self) -> bool {
        matches!(self, SourceKind::File | SourceKind::SecutixReseller | SourceKind::SecutixWhitelist | SourceKind::Ticketnet)
    }

    /// Whether the source can list the partner's events (automatic performance creation).
    pub fn lists_events(self) -> bool {
        matches!(self, SourceKind::Shotgun | SourceKind::Weezevent | SourceKind::Billetweb)
    }

    /// The source's parameters, in form order.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            SourceKind::File => FILE_FIELDS,
            SourceKind::SecutixReseller | SourceKind::SecutixWhitelist => &[],
            SourceKind::Ticketnet => TICKETNET_FIELDS,
            SourceKind::Shotgun => SHOTGUN_FIELDS,
            SourceKind::Weezevent => WEEZEVENT_FIELDS,
            SourceKind::Billetweb => BILLETWEB_FIELDS,
            SourceKind::Eventbrite => EVENTBRITE_FIELDS,
            SourceKind::Secutix => SECUTIX_FIELDS,
            SourceKind::Tixngo => TIXNGO_FIELDS,
        }
    }

    /// What each performance the source is attached to says of it.
    pub fn attachment_fields(self) -> &'static [FieldSpec] {
        match self {
            SourceKind::File | SourceKind::SecutixReseller | SourceKind::SecutixWhitelist => &[],
            SourceKind::Ticketnet => TICKETNET_ATTACHMENT_FIELDS,
            SourceKind::Shotgun => SHOTGUN_ATTACHMENT_FIELDS,
            SourceKind::Weezevent | SourceKind::Billetweb | SourceKind::Eventbrite => EVENT_ID_FIELDS,
            SourceKind::Secutix => SECUTIX_ATTACHMENT_FIELDS,
            SourceKind::Tixngo => TIXNGO_ATTACHMENT_FIELDS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    Text,
    Url,
    Integer,
    /// A checkbox: "true" or "false".
    Flag,
    /// Shown as a password field; stored encrypted, never sent back.
    Secret,
}

/// One parameter of a source kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub field_type: FieldType,
    pub required: bool,
    /// Used when left empty.
    pub default: &'static str,
    pub label_en: &'static str,
    pub label_fr: &'static str,
}

const fn field(name: &'static str, field_type: FieldType, required: bool, label_en: &'static str, label_fr: &'static str) -> FieldSpec {
    FieldSpec { name, field_type, required, default: "", label_en, label_fr }
}

const fn with_default(spec: FieldSpec, default: &'static str) -> FieldSpec {
    FieldSpec { default, ..spec }
}

const FILE_FIELDS: &[FieldSpec] = &[
    field("barcode_column", FieldType::Text, false, "Ticket number column (empty: guess from the header)", "Colonne du numéro de billet (vide : devinée d'après l'en-tête)"),
    field("state_column", FieldType::Text, false, "State column", "Colonne de l'état"),
    field("category_column", FieldType::Text, false, "Category column", "Colonne de la catégorie"),
    field("holder_column", FieldType::Text, false, "Holder name column", "Colonne du nom du porteur"),
];

const TICKETNET_FIELDS: &[FieldSpec] = &[
    field("categories", FieldType::Text, true, "Categories (code=name; code=name…)", "Catégories (code=nom ; code=nom…)"),
    field("tariffs", FieldType::Text, true, "Tariff grid (code=name:price; …)", "Grille tarifaire (code=nom:prix ; …)"),
    field("halls", FieldType::Text, false, "Halls (code=name; empty: not checked)", "Salles (code=nom ; vide : non vérifiées)"),
    field("zones", FieldType::Text, false, "Zones / blocks (code=name; empty: not checked)", "Zones / blocs (code=nom ; vide : non vérifiés)"),
];

const TICKETNET_ATTACHMENT_FIELDS: &[FieldSpec] = &[field(
    "event_code",
    FieldType::Text,
    true,
    "Ticketnet event code (EVENT or EVENT_SESSION)",
    "Code manifestation Ticketnet (MANIF ou MANIF_SEANCE)",
)];

const SHOTGUN_FIELDS: &[FieldSpec] = &[
    field("organizer_id", FieldType::Integer, true, "Organizer ID", "Identifiant organisateur"),
    field("token", FieldType::Secret, true, "API token", "Jeton d'API"),
    field("key_events", FieldType::Flag, false, "Key Events (list future events to pick from)", "Key Events (liste des événements à venir)"),
    with_default(field("api_url", FieldType::Url, false, "Tickets API address", "Adresse de l'API des billets"), "https://api.shotgun.live"),
    with_default(
        field("smartboard_url", FieldType::Url, false, "Events API address", "Adresse de l'API des événements"),
        "https://smartboard-api.shotgun.live/api/shotgun",
    ),
    field("push_url", FieldType::Url, false, "Scan push address (given by Shotgun; empty: do not push)", "Adresse d'envoi des contrôles (fournie par Shotgun ; vide : pas d'envoi)"),
    with_default(field("requests_per_minute", FieldType::Integer, false, "Requests per minute", "Requêtes par minute"), "100"),
];

const SHOTGUN_ATTACHMENT_FIELDS: &[FieldSpec] = &[
    field("event_id", FieldType::Integer, true, "Shotgun event ID", "Identifiant d'événement Shotgun"),
    field("do_not_push", FieldType::Flag, false, "Do not push scanned tickets", "Ne pas envoyer les billets contrôlés"),
];

const fn requests_per_minute(default: &'static str) -> FieldSpec {
    with_default(field("requests_per_minute", FieldType::Integer, false, "Requests per minute", "Requêtes par minute"), default)
}

const WEEZEVENT_FIELDS: &[FieldSpec] = &[
    field("username", FieldType::Text, true, "Weezevent account (e-mail)", "Compte Weezevent (e-mail)"),
    field("password", FieldType::Secret, true, "Password", "Mot de passe"),
    field("api_key", FieldType::Secret, true, "API key", "Clé d'API"),
    with_default(field("api_url", FieldType::Url, false, "API address", "Adresse de l'API"), "https://api.weezevent.com"),
    with_default(field("page_size", FieldType::Integer, false, "Participants a page", "Participants par page"), "500"),
    // Not documented whether pages count from 0 or 1.
    with_default(field("first_page", FieldType::Integer, false, "Number of the first page", "Numéro de la première page"), "0"),
    requests_per_minute("60"),
];

const BILLETWEB_FIELDS: &[FieldSpec] = &[
    field("user", FieldType::Text, true, "Billetweb user ID", "Identifiant utilisateur Billetweb"),
    field("key", FieldType::Secret, true, "API key", "Clé d'API"),
    with_default(field("api_url", FieldType::Url, false, "API address", "Adresse de l'API"), "https://www.billetweb.fr"),
    requests_per_minute("60"),
];

const EVENTBRITE_FIELDS: &[FieldSpec] = &[
    field("token", FieldType::Secret, true, "Private token (OAuth)", "Jeton privé (OAuth)"),
    with_default(field("api_url", FieldType::Url, false, "API address", "Adresse de l'API"), "https://www.eventbriteapi.com/v3"),
    // Eventbrite allows 2,000 calls an hour.
    requests_per_minute("30"),
];

const SECUTIX_FIELDS: &[FieldSpec] = &[
    field(
        "service_url",
        FieldType::Url,
        true,
        "Access-control service address (https://<institution>.ws.secutix.com/tnci/backend-apis/externalAccessControlService/v1_6)",
        "Adresse du service de contrôle d'accès (https://<institution>.ws.secutix.com/tnci/backend-apis/externalAccessControlService/v1_6)",
    ),
    field("user", FieldType::Text, true, "Web service user", "Utilisateur du service web"),
    field("password", FieldType::Secret, true, "Password", "Mot de passe"),
    field("ac_identifier", FieldType::Text, true, "Access-control client identifier (acIdentifier)", "Identifiant du client de contrôle d'accès (acIdentifier)"),
    with_default(field("list_type", FieldType::Text, false, "List type (WHITE, BLACK, GREY)", "Type de liste (WHITE, BLACK, GREY)"), "GREY"),
    with_default(field("ticket_type", FieldType::Text, false, "Ticket type (ALL, THIRD_PARTY)", "Type de billets (ALL, THIRD_PARTY)"), "ALL"),
    with_default(field("page_size", FieldType::Integer, false, "Items a call (nbMaxResults)", "Éléments par appel (nbMaxResults)"), "1000"),
    with_default(field("barcode_field", FieldType::Text, false, "Item field: barcode", "Champ de l'élément : code-barres"), "barcode"),
    with_default(
        field("category_field", FieldType::Text, false, "Item field: category", "Champ de l'élément : catégorie"),
        "audienceSubCategoryCode",
    ),
    with_default(
        field("cancellation_field", FieldType::Text, false, "Item field: cancellation cause (set: not admissible)", "Champ de l'élément : cause d'annulation (renseigné : non admissible)"),
        "cancellationCause",
    ),
    requests_per_minute("60"),
];

const TIXNGO_FIELDS: &[FieldSpec] = &[
    field("api_url", FieldType::Url, true, "TIXNGO API address", "Adresse de l'API TIXNGO"),
    field("api_key", FieldType::Secret, true, "API key", "Clé d'API"),
    with_default(field("diff_path", FieldType::Text, false, "Status diff feed path", "Chemin du flux des changements d'état"), "/organizer/tickets/diff"),
    with_default(field("control_path", FieldType::Text, false, "Controlled tickets path", "Chemin des billets contrôlés"), "/organizer/tickets/control"),
    with_default(field("invalidate_path", FieldType::Text, false, "Cancelled tickets path", "Chemin des billets annulés"), "/organizer/tickets/invalidate"),
    with_default(field("page_size", FieldType::Integer, false, "Tickets a batch", "Billets par lot"), "1000"),
    requests_per_minute("60"),
];

const EVENT_ID_FIELDS: &[FieldSpec] = &[field("event_id", FieldType::Text, true, "Partner event ID", "Identifiant d'événement du partenaire")];

const SECUTIX_ATTACHMENT_FIELDS: &[FieldSpec] = &[
    field("performance_code", FieldType::Text, true, "SecuTix performance code", "Code séance SecuTix"),
    field("product_code", FieldType::Text, false, "SecuTix product code", "Code produit SecuTix"),
    field("season_code", FieldType::Text, false, "SecuTix season code", "Code saison SecuTix"),
    field("do_not_push", FieldType::Flag, false, "Do not push scanned tickets", "Ne pas envoyer les billets contrôlés"),
];

const TIXNGO_ATTACHMENT_FIELDS: &[FieldSpec] = &[
    field("event_id", FieldType::Text, true, "TIXNGO event ID", "Identifiant d'événement TIXNGO"),
    field("do_not_push", FieldType::Flag, false, "Do not push scanned tickets", "Ne pas envoyer les billets contrôlés"),
];

/// A source's parameters as typed in the form, by field name. Secrets travel only from the
/// browser to the server, never back.
pub type FieldValues = BTreeMap<String, String>;

/// Refresh periods of a web-service source, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPeriods {
    /// Far from the show.
    pub long_minutes: u32,
    /// Within `short_window_hours` of the show.
    pub short_minutes: u32,
    pub short_window_hours: u32,
}

impl Default for RefreshPeriods {
    fn default() -> Self {
        Self { long_minutes: 240, short_minutes: 5, short_window_hours: 24 }
    }
}

/// A source as the sources tab lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    pub id: SourceId,
    pub kind: SourceKind,
    pub name: String,
    /// Non-secret parameters.
    pub settings: FieldValues,
    /// Names of the secrets that are set (their values never leave the server).
    pub secrets_set: Vec<String>,
    pub periods: RefreshPeriods,
}

/// A source attached to a performance, with how its imports went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub performance: PerformanceId,
    pub source: SourceId,
    pub kind: SourceKind,
    pub name: String,
    pub options: FieldValues,
    pub running: bool,
    /// Tickets imported so far by the refresh under way.
    pub progress: u64,
    pub last_refresh_at: Option<Millis>,
    /// Why the last refresh failed; empty when it succeeded.
    pub last_error: Option<String>,
    pub push_error: Option<String>,
    pub tickets: u64,
    /// Numbers this source also carried that another source imported first.
    pub duplicates: u64,
    /// Admissions of this source's tickets: detaching it keeps them, and asks first.
    pub passes: u64,
}

/// What one import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Numbers another source of the performance imported first (kept there).
    pub duplicates: u64,
}

impl ImportSummary {
    pub fn add(&mut self, other: ImportSummary) {
        self.added += other.added;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.duplicates += other.duplicates;
    }
}

/// A file row refused by an import, named by its line (1 = the first line of the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: String,
}

/// The first rows of an uploaded file as read, so the person can check the column mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePreview {
    pub format: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Column chosen for each ticket field (barcode, state, category, holder).
    pub mapping: BTreeMap<String, String>,
}

/// An event a source can list (automatic performance creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerEvent {
    pub id: String,
    pub venue: String,
    pub name: String,
    pub starts_at: Option<Millis>,
    pub time_zone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_codes() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::parse(kind.code()), Some(kind));
        }
        assert_eq!(SourceKind::parse("nope"), None);
    }

    #[test]
    fn every_field_name_is_unique_within_a_kind() {
        for kind in SourceKind::ALL {
            let mut names: Vec<_> = kind.fields().iter().chain(kind.attachment_fields()).map(|f| f.name).collect();
            let count = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count, "{kind:?}");
        }
    }
}
