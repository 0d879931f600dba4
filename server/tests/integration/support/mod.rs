//! Test helpers: a fresh database per test on each backend, and the real server on a random
//! port (`spawn_app`), called over HTTP like the browser does.

use std::sync::Arc;

use server::sources::addresses::AddressPolicy;
use server::sources::scheduler::Partners;
use server::sources::secrets::SecretBox;

use app::ssr::storage::Storage;
use leptos::prelude::LeptosOptions;
use leptos::server_fn::ServerFn;
use rand::Rng;
use rand::distributions::Alphanumeric;
use app::domain::{AttachmentView, FieldValues, InstitutionId, RefreshPeriods, SourceId, SourceKind, UploadAnswer};
use app::engine::PerformanceId;
use serde_json::Value;
use sqlx::Connection;

use api::{CreateEvent, CreateInstitution, CreatePerformance, CreateVenue, PerformanceSources, SaveSource, SignIn};

pub mod api;
pub mod world;

pub const ADMIN_PASSWORD: &str = "first-master-password";
/// The password of the logins tests make.
pub const PASSWORD: &str = "a long enough password";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn random_suffix() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(12)
        .map(char::from)
        .collect::<String>()
        .to_lowercase()
}

/// Settings or secrets from (name, value) pairs.
pub fn fields<const N: usize>(pairs: [(&str, &str); N]) -> FieldValues {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// A new undated performance `label`, of a new venue and event of `institution`.
pub async fn undated_performance(
    storage: &dyn Storage,
    institution: app::domain::InstitutionId,
    label: &str,
) -> app::engine::PerformanceId {
    let venue = storage.create_venue(institution, "Hall", "Europe/Paris").await.expect("venue");
    let event = storage.create_event(venue, "Show").await.expect("event");
    storage
        .create_performance(&app::ssr::storage::NewPerformance { event, label: label.into(), starts_at: None, window: None, import_end: None })
        .await
        .expect("performance")
}

/// A URL to a database no other test uses, or `None` when PostgreSQL tests are not enabled
/// (`postgres_url`: said on the output, and a failure under CI).
pub async fn fresh_database_url(backend: Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("billetix-test-{}", random_suffix()));
            Some(format!("sqlite://{}", dir.join("billetix.db").display()))
        }
        Backend::Postgres => {
            let base = postgres_url()?;
            let schema = format!("test_{}", random_suffix());
            let mut admin = sqlx::PgConnection::connect(&base)
                .await
                .expect("connect to BILLETIX_TEST_POSTGRES_URL");
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut admin)
                .await
                .expect("create a test schema");
            let separator = if base.contains('?') { '&' } else { '?' };
            Some(format!(
                "{base}{separator}options=-c%20search_path%3D{schema}"
            ))
        }
    }
}

/// `BILLETIX_TEST_POSTGRES_URL`, or `None` after saying the PostgreSQL half is skipped: on
/// the process's own stderr, which the test harness does not capture, so `cargo test` shows
/// it beside the `ok`. Under CI (`CI` set) a missing URL fails the test instead: a skipped half
/// would pass unseen.
fn postgres_url() -> Option<String> {
    if let Some(url) = std::env::var("BILLETIX_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        return Some(url);
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI is set but BILLETIX_TEST_POSTGRES_URL is not, so the PostgreSQL half cannot run"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped {test}: BILLETIX_TEST_POSTGRES_URL is not set");
    None
}

pub async fn fresh_storage(backend: Backend) -> Option<Arc<dyn Storage>> {
    Some(fresh_database(backend).await?.storage)
}

pub async fn fresh_database(backend: Backend) -> Option<server::storage::Opened> {
    let url = fresh_database_url(backend).await?;
    Some(
        server::storage::open(&url)
            .await
            .expect("open test storage"),
    )
}

pub struct TestApp {
    pub base_url: String,
    pub storage: Arc<dyn Storage>,
    /// Refresher and pusher, run by the tests when they choose (no background timers).
    pub partners: Partners,
}

/// Partners with a fixed key and a short timeout, so a stalled stand-in fails fast.
pub fn test_partners(storage: Arc<dyn Storage>, addresses: AddressPolicy) -> Partners {
    let secrets = SecretBox::from_hex(&"42".repeat(32)).expect("test key");
    let http = server::sources::http_client_with_timeout(std::time::Duration::from_secs(2), addresses)
        .expect("client");
    Partners::new(storage, secrets, http)
}

/// The real router on 127.0.0.1 with a random port, over a fresh database with the first
/// Master (`admin` / `ADMIN_PASSWORD`); partners may be reached on private addresses, where
/// the stand-ins listen.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn(backend, AddressPolicy::AllowPrivate, |context| context).await
}

/// As `spawn_app`, believing the given proxies (the tests' client is 127.0.0.1).
pub async fn spawn_app_trusting(backend: Backend, trust: app::ssr::client::ClientTrust) -> Option<TestApp> {
    spawn(backend, AddressPolicy::AllowPrivate, |context| context.with_client_trust(trust)).await
}

/// As `spawn_app`, with the server's settings changed by `configure`.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(app::ssr::ServerContext) -> app::ssr::ServerContext,
) -> Option<TestApp> {
    spawn(backend, AddressPolicy::AllowPrivate, configure).await
}

/// As `spawn_app`, with partners reachable only as `addresses` allows.
pub async fn spawn_app_reaching(backend: Backend, addresses: AddressPolicy) -> Option<TestApp> {
    spawn(backend, addresses, |context| context).await
}

async fn spawn(
    backend: Backend,
    addresses: AddressPolicy,
    configure: impl FnOnce(app::ssr::ServerContext) -> app::ssr::ServerContext,
) -> Option<TestApp> {
    let url = fresh_database_url(backend).await?;
    Some(spawn_on(&url, addresses, configure).await)
}

/// As `spawn_app`, on the database at `url` (through a `DatabaseProxy`, say).
pub async fn spawn_app_on(url: &str) -> TestApp {
    spawn_on(url, AddressPolicy::AllowPrivate, |context| context).await
}

async fn spawn_on(
    url: &str,
    addresses: AddressPolicy,
    configure: impl FnOnce(app::ssr::ServerContext) -> app::ssr::ServerContext,
) -> TestApp {
    let opened = server::storage::open(url).await.expect("open test storage");
    let storage = opened.storage.clone();
    server::bootstrap::ensure_root(storage.as_ref(), Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("local address");
    let options = LeptosOptions::builder()
        .output_name("billetix")
        .site_addr(address)
        .build();
    let partners = test_partners(storage.clone(), addresses);
    let context = app::ssr::ServerContext::new(opened.storage, opened.live, Arc::new(partners.clone()));
    let router = server::router(configure(context), options);
    tokio::spawn(server::serve(listener, router));
    TestApp {
        base_url: format!("http://{address}"),
        storage,
        partners,
    }
}

/// A running `billetix` process, stopped when dropped.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn start_process(database_url: &str) -> (Process, String) {
    start_process_with(database_url, &[]).await
}

/// As `start_process`, with these settings too.
pub async fn start_process_with(database_url: &str, settings: &[(&str, &str)]) -> (Process, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let data_dir = std::env::temp_dir().join(format!("billetix-process-{}", random_suffix()));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_billetix"))
        .env("DATABASE_URL", database_url)
        .env("BILLETIX_DATA_DIR", &data_dir)
        .env("BILLETIX_ADDR", format!("127.0.0.1:{port}"))
        .env("BILLETIX_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("LEPTOS_OUTPUT_NAME", "billetix")
        .env("RUST_LOG", "warn")
        .envs(settings.iter().copied())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start billetix");
    let base_url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while reqwest::get(format!("{base_url}/signin")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "billetix did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (Process(child), base_url)
}

/// One browser: its own cookie jar.
pub struct Client {
    http: reqwest::Client,
    base_url: String,
}

impl TestApp {
    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("http client"),
            base_url: self.base_url.clone(),
        }
    }

    /// A client whose every request carries these headers (a proxy's, say).
    pub fn client_with_headers(&self, headers: &[(&'static str, &str)]) -> Client {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().expect("header value"));
        }
        Client {
            http: reqwest::Client::builder().cookie_store(true).default_headers(map).build().expect("http client"),
            base_url: self.base_url.clone(),
        }
    }

    /// A performance's tickets by number: (state, category).
    pub async fn tickets_by_code(&self, performance: PerformanceId) -> std::collections::BTreeMap<String, (String, String)> {
        self.storage
            .performance_tickets(performance)
            .await
            .expect("tickets")
            .into_iter()
            .map(|t| (t.barcode.to_string(), (t.state.as_str().to_owned(), t.category)))
            .collect()
    }

    /// An institution `name` under root with one dated performance, made through the back
    /// office's functions: (institution, performance).
    pub async fn a_performance(&self, admin: &Client, name: &str) -> (InstitutionId, PerformanceId) {
        let root = self.storage.root_institution().await.expect("root").expect("exists").id;
        let institution = admin.call(CreateInstitution { parent: root, name: name.to_owned() }).await.expect("institution").id;
        let performance = admin.another_performance(institution).await;
        (institution, performance)
    }

    /// A client already signed in.
    pub async fn signed_in(&self, login: &str, password: &str) -> Client {
        let client = self.client();
        client.call(SignIn { login: login.to_owned(), password: password.to_owned() }).await.expect("sign in");
        client
    }
}

impl Client {
    /// A browser of a server started apart (`start_process`), with its own cookie jar.
    pub fn of(base_url: &str) -> Client {
        Client { http: reqwest::Client::builder().cookie_store(true).build().expect("http client"), base_url: base_url.to_owned() }
    }

    /// This browser, signed in.
    pub async fn signing_in(self, login: &str, password: &str) -> Client {
        self.call(SignIn { login: login.to_owned(), password: password.to_owned() }).await.expect("sign in");
        self
    }
}

/// The error a server function answered with, as the UI receives it.
pub type CallError = app::error::AppError;

impl Client {
    /// A new dated performance of `institution`, in a new venue and event.
    pub async fn another_performance(&self, institution: InstitutionId) -> PerformanceId {
        let venue = self.call(CreateVenue { institution, name: "Salle".into(), time_zone: "Europe/Paris".into() }).await.expect("venue");
        let event = self.call(CreateEvent { venue, name: "Concert".into() }).await.expect("event");
        self.call(CreatePerformance {
            event,
            label: String::new(),
            starts_at: Some("2030-06-01T20:00".into()),
            valid_from: None,
            valid_to: None,
            import_end: None,
        })
        .await
        .expect("performance")
    }

    /// A new source of `kind` of `institution`, with these settings and no secrets: its id.
    pub async fn a_source(&self, institution: InstitutionId, kind: SourceKind, name: &str, settings: FieldValues) -> SourceId {
        self.call(SaveSource { institution, source: None, kind, name: name.to_owned(), settings, secrets: FieldValues::new(), periods: RefreshPeriods::default() })
            .await
            .expect("source")
    }

    /// The first source attached to a performance, as the back office shows it.
    pub async fn attachment(&self, performance: PerformanceId) -> AttachmentView {
        let mut attached = self.call(PerformanceSources { performance }).await.expect("attachments").attached;
        assert!(!attached.is_empty(), "a source is attached to {performance}");
        attached.swap_remove(0)
    }

    /// A file put into a file source as the back office sends it (`POST /upload/source-file`;
    /// `dry_run`: the *Check* button): the status, and the answer or the error.
    pub async fn upload(&self, performance: PerformanceId, source: SourceId, file_name: &str, dry_run: bool, file: &[u8]) -> (u16, Result<UploadAnswer, CallError>) {
        let path = format!("/upload/source-file?performance={performance}&source={source}&file_name={file_name}&dry_run={dry_run}");
        let response = self.http.post(format!("{}{path}", self.base_url)).body(file.to_vec()).send().await.expect("request reaches the server");
        let status = response.status();
        let body = response.text().await.expect("response body");
        let answer = match status.is_success() {
            true => Ok(serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: unexpected answer ({e}): {body}"))),
            false => Err(serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: unexpected error body {status}: {body}"))),
        };
        (status.as_u16(), answer)
    }

    /// A request built by the test, sent with this browser's cookies.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base_url))
    }

    /// A streaming GET (server-sent events).
    pub async fn get_stream(&self, path: &str) -> reqwest::Response {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("request reaches the server");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response
    }

    /// Calls the server function whose generated argument struct `args` is (`#[server]` makes
    /// one per function: `CreateVenue` for `create_venue`), at its own path, as the browser
    /// does: its typed answer, or the error it answered with.
    pub async fn call<F>(&self, args: F) -> Result<F::Output, CallError>
    where
        F: ServerFn<Error = CallError> + serde::Serialize,
        F::Output: serde::de::DeserializeOwned,
    {
        let response = self
            .http
            .post(format!("{}{}", self.base_url, F::PATH))
            .json(&args)
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status();
        let body = response.text().await.expect("response body");
        if status.is_success() {
            // A function answering `()` may send no body at all.
            let body = if body.is_empty() { "null" } else { body.as_str() };
            Ok(serde_json::from_str(body).unwrap_or_else(|e| panic!("{}: unexpected answer ({e}): {body}", F::PATH)))
        } else {
            Err(serde_json::from_str(&body).unwrap_or_else(|_| panic!("{}: unexpected error body {status}: {body}", F::PATH)))
        }
    }

    /// A server function called with arguments as JSON the test wrote, answering JSON: for
    /// requests no typed call can make (malformed arguments, raw shapes).
    pub async fn call_json(&self, function: &str, args: Value) -> Result<Value, CallError> {
        let response = self
            .http
            .post(format!("{}/api/{function}", self.base_url))
            .json(&args)
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status();
        let body = response.text().await.expect("response body");
        if status.is_success() {
            Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
        } else {
            Err(serde_json::from_str(&body)
                .unwrap_or_else(|_| panic!("{function}: unexpected error body {status}: {body}")))
        }
    }
}

/// Runs one story against each backend; the PostgreSQL half runs when
/// `BILLETIX_TEST_POSTGRES_URL` is set, and otherwise says it is skipped (fails under CI).
macro_rules! on_both_backends {
    ($story:ident) => {
        mod $story {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$story(support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$story(support::Backend::Postgres).await;
            }
        }
    };
}

/// A TCP proxy between the server and PostgreSQL that a test cuts and restores: cut, every
/// connection through it is dropped and new ones are refused (its port closed), as a database
/// restart looks to the server, without stopping the PostgreSQL other tests share.
pub struct DatabaseProxy {
    /// The database URL, through the proxy.
    pub url: String,
    up: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl DatabaseProxy {
    /// A proxy to the host and port of `url` (a `postgres://` URL), open.
    pub async fn start(url: &str) -> DatabaseProxy {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (format!("{user}@"), host_port),
            None => (String::new(), authority),
        };
        let target = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
        let listener = Self::listen(0).await;
        let port = listener.local_addr().expect("proxy address").port();
        let (up, watch) = tokio::sync::watch::channel(true);
        let task = tokio::spawn(Self::run(listener, port, target, watch));
        DatabaseProxy { url: format!("{scheme}://{user}127.0.0.1:{port}{path}"), up, task }
    }

    /// Drops every connection and refuses new ones, until `restore`.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }

    async fn listen(port: u16) -> tokio::net::TcpListener {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        // The port is taken again after a cut, with the cut connections still in TIME_WAIT.
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port))).expect("bind the proxy's port");
        socket.listen(128).expect("listen")
    }

    async fn run(mut listener: tokio::net::TcpListener, port: u16, target: String, mut up: tokio::sync::watch::Receiver<bool>) {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => Some(accepted),
                _ = up.wait_for(|up| !*up) => None,
            };
            match accepted {
                Some(Ok((mut client, _))) => {
                    let (target, mut up) = (target.clone(), up.clone());
                    tokio::spawn(async move {
                        let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = up.wait_for(|up| !*up) => {}
                        }
                    });
                }
                Some(Err(_)) => {}
                None => {
                    drop(listener);
                    if up.wait_for(|up| *up).await.is_err() {
                        return;
                    }
                    listener = Self::listen(port).await;
                }
            }
        }
    }
}

impl Drop for DatabaseProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
