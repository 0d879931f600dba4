//! A test's scene, built as the back office builds it: an institution under root, a venue, an
//! event and a performance made through the server functions by the first Master, tickets
//! written straight to storage (no partner needed), logins with their rights. One builder in
//! place of each file's own `venue()`, `scene()`, `world()` and `create_login()`:
//!
//! ```ignore
//! let w = World::new(&app).institution("Arena").venue("Main hall", "Europe/Paris")
//!     .tickets(&[("T1", TicketState::Valid, "general")]).pda_open().door_login("door").build().await;
//! ```

use std::collections::BTreeMap;

use app::ssr::storage::NewTicket;
use app::domain::{InstitutionId, LoginId, Rights};
use app::engine::{Barcode, PerformanceId, TicketState};

use super::api::{
    CreateEvent, CreateInstitution, CreateLogin, CreatePerformance, CreateVenue, SetPdaOpen,
};
use super::{ADMIN_PASSWORD, Client, PASSWORD, TestApp};

/// Where the venue goes: a new institution under root, or one that exists.
enum Place {
    New(String),
    Existing(InstitutionId),
}

/// What to build; `build` makes it.
pub struct World<'a> {
    app: &'a TestApp,
    institution: Place,
    venue: (String, String),
    event: String,
    label: String,
    starts_at: String,
    tickets: Vec<(String, TicketState, String)>,
    pda_open: bool,
    logins: Vec<(String, Rights)>,
}

/// What was built, and the first Master's client that built it (one live session a login:
/// signing in as `admin` again ends this one).
pub struct Built {
    pub admin: Client,
    pub institution: InstitutionId,
    pub performance: PerformanceId,
    /// Each login made, by name (password `PASSWORD`).
    pub logins: BTreeMap<String, LoginId>,
}

/// A door's rights: scanning only.
pub const DOOR: Rights = Rights {
    admin: false,
    pda: true,
    backoffice: false,
};
/// A back-office clerk's: the back office only.
pub const CLERK: Rights = Rights {
    admin: false,
    pda: false,
    backoffice: true,
};

impl<'a> World<'a> {
    /// Institution "Arena", venue "Salle" in Paris, event "Concert", a performance on
    /// 2030-06-01 at 20:00, no tickets, closed to doors, no logins.
    pub fn new(app: &'a TestApp) -> Self {
        World {
            app,
            institution: Place::New("Arena".to_owned()),
            venue: ("Salle".to_owned(), "Europe/Paris".to_owned()),
            event: "Concert".to_owned(),
            label: String::new(),
            starts_at: "2030-06-01T20:00".to_owned(),
            tickets: Vec::new(),
            pda_open: false,
            logins: Vec::new(),
        }
    }

    pub fn institution(mut self, name: &str) -> Self {
        self.institution = Place::New(name.to_owned());
        self
    }

    /// In an institution that exists (another venue and performance of it).
    pub fn within(mut self, institution: InstitutionId) -> Self {
        self.institution = Place::Existing(institution);
        self
    }

    pub fn venue(mut self, name: &str, time_zone: &str) -> Self {
        self.venue = (name.to_owned(), time_zone.to_owned());
        self
    }

    pub fn event(mut self, name: &str) -> Self {
        self.event = name.to_owned();
        self
    }

    /// The performance's label and start (`YYYY-MM-DDTHH:MM`, the venue's time).
    pub fn performance(mut self, label: &str, starts_at: &str) -> Self {
        self.label = label.to_owned();
        self.starts_at = starts_at.to_owned();
        self
    }

    /// Tickets by (number, state, category), each held by "Holder of <number>".
    pub fn tickets(mut self, tickets: &[(&str, TicketState, &str)]) -> Self {
        self.tickets.extend(
            tickets.iter().map(|(code, state, category)| {
                ((*code).to_owned(), *state, (*category).to_owned())
            }),
        );
        self
    }

    /// Open to doors (the back office's PDA box ticked).
    pub fn pda_open(mut self) -> Self {
        self.pda_open = true;
        self
    }

    /// A login of the institution with these rights.
    pub fn login(mut self, name: &str, rights: Rights) -> Self {
        self.logins.push((name.to_owned(), rights));
        self
    }

    /// A login that scans at the institution's doors and nothing else.
    pub fn door_login(self, name: &str) -> Self {
        self.login(name, DOOR)
    }

    pub async fn build(self) -> Built {
        let app = self.app;
        let admin = app.signed_in("admin", ADMIN_PASSWORD).await;
        let institution = match self.institution {
            Place::Existing(institution) => institution,
            Place::New(name) => {
                let root = app
                    .storage
                    .root_institution()
                    .await
                    .expect("root")
                    .expect("exists")
                    .id;
                admin
                    .call(CreateInstitution { parent: root, name })
                    .await
                    .expect("institution")
                    .id
            }
        };
        let (name, time_zone) = self.venue;
        let venue = admin
            .call(CreateVenue {
                institution,
                name,
                time_zone,
            })
            .await
            .expect("venue");
        let event = admin
            .call(CreateEvent {
                venue,
                name: self.event,
            })
            .await
            .expect("event");
        let performance = admin
            .call(CreatePerformance {
                event,
                label: self.label,
                starts_at: Some(self.starts_at),
                valid_from: None,
                valid_to: None,
                import_end: None,
            })
            .await
            .expect("performance");
        if !self.tickets.is_empty() {
            let tickets: Vec<NewTicket> = self
                .tickets
                .into_iter()
                .map(|(code, state, category)| NewTicket {
                    barcode: Barcode::parse(&code).expect("barcode"),
                    state,
                    category,
                    holder: Some(format!("Holder of {code}")),
                })
                .collect();
            app.storage
                .upsert_tickets(performance, &tickets, 1)
                .await
                .expect("tickets");
        }
        if self.pda_open {
            admin
                .call(SetPdaOpen {
                    performance,
                    open: true,
                })
                .await
                .expect("open to doors");
        }
        let mut logins = BTreeMap::new();
        for (login, rights) in self.logins {
            let id = admin
                .call(CreateLogin {
                    institution,
                    login: login.clone(),
                    password: PASSWORD.to_owned(),
                    rights,
                })
                .await
                .unwrap_or_else(|e| panic!("create {login}: {e}"));
            logins.insert(login, id);
        }
        Built {
            admin,
            institution,
            performance,
            logins,
        }
    }
}
