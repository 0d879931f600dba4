//! Accounts: the SQL both databases run, written once. sqlx accepts `$n` placeholders on both
//! databases and every statement here is portable SQL (recursive CTEs, `ON CONFLICT`,
//! `RETURNING`).

use app::ssr::signin_throttle::{Reservation, ThrottleKey, attempt};
use app::ssr::storage::{
    AccountStorage, LoginRecord, MemberRecord, MembershipRemoval, Millis, SessionActor, SessionEnd, SessionLimits,
    StorageError, StorageResult,
};
use app::domain::{Institution, InstitutionId, InstitutionName, LoginId, LoginName, Rights};
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Affected, Connection, Dialect, Row, Value};
use super::rows::{InstitutionRow, LoginRow, MemberRow, MembershipRow, SessionRow, ThrottleRow};
use super::shared::{SESSION_SEEN_EVERY_MS, SIGNIN_THROTTLE_RETENTION_MS, end_reason_code};
use super::{DbResultExt, FoundExt, SqlStorage};

#[async_trait::async_trait]
impl<D: Dialect> AccountStorage for SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    for<'n> Option<&'n str>: Encode<'n, D::Db>,
    usize: ColumnIndex<Row<D>>,
    i64: Value<D::Db>, i32: Value<D::Db>, bool: Value<D::Db>, String: Value<D::Db>,
    Option<i64>: Value<D::Db>, Option<bool>: Value<D::Db>,
{
    async fn root_institution(&self) -> StorageResult<Option<Institution>> {
        let row: Option<InstitutionRow> = sqlx::query_as("SELECT id, parent_id, name FROM institutions WHERE parent_id IS NULL")
            .fetch_optional(&self.pool)
            .await
            .db()?;
        row.map(InstitutionRow::institution).transpose()
    }

    async fn create_institution(
        &self,
        parent: Option<InstitutionId>,
        name: &InstitutionName,
    ) -> StorageResult<Institution> {
        let row: InstitutionRow = sqlx::query_as(
            "INSERT INTO institutions (parent_id, name) VALUES ($1, $2) RETURNING id, parent_id, name",
        )
        .bind(parent.map(|p| p.0))
        .bind(name.as_str())
        .fetch_one(&self.writer)
        .await
        .or_missing_row()?;
        row.institution()
    }

    async fn rename_institution(&self, id: InstitutionId, name: &InstitutionName) -> StorageResult<()> {
        sqlx::query("UPDATE institutions SET name = $1 WHERE id = $2")
            .bind(name.as_str())
            .bind(id.0)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn scan_deadline(&self, id: InstitutionId) -> StorageResult<u32> {
        let deadline: i32 = sqlx::query_scalar("SELECT scan_deadline_ms FROM institutions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .db()?
            .ok_or(StorageError::NotFound)?;
        Ok(u32::try_from(deadline).unwrap_or(app::sync::protocol::DEFAULT_SCAN_DEADLINE_MS))
    }

    async fn set_scan_deadline(&self, id: InstitutionId, deadline_ms: u32) -> StorageResult<()> {
        sqlx::query("UPDATE institutions SET scan_deadline_ms = $1 WHERE id = $2")
            .bind(i32::try_from(deadline_ms).unwrap_or(i32::MAX))
            .bind(id.0)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn institution(&self, id: InstitutionId) -> StorageResult<Option<Institution>> {
        let row: Option<InstitutionRow> = sqlx::query_as("SELECT id, parent_id, name FROM institutions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        row.map(InstitutionRow::institution).transpose()
    }

    async fn ancestry(&self, id: InstitutionId) -> StorageResult<Vec<InstitutionId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "WITH RECURSIVE chain (id, parent_id, depth) AS ( \
                 SELECT id, parent_id, 0 FROM institutions WHERE id = $1 \
                 UNION ALL \
                 SELECT i.id, i.parent_id, c.depth + 1 FROM institutions i JOIN chain c ON i.id = c.parent_id \
             ) SELECT id FROM chain ORDER BY depth",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(ids.into_iter().map(InstitutionId).collect())
    }

    async fn branch(&self, id: InstitutionId) -> StorageResult<Vec<Institution>> {
        let rows: Vec<InstitutionRow> = sqlx::query_as(
            "WITH RECURSIVE sub (id) AS ( \
                 SELECT id FROM institutions WHERE id = $1 \
                 UNION ALL \
                 SELECT i.id FROM institutions i JOIN sub s ON i.parent_id = s.id \
             ) SELECT i.id, i.parent_id, i.name FROM institutions i JOIN sub s ON i.id = s.id ORDER BY i.id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(InstitutionRow::institution).collect()
    }

    async fn institutions(&self, ids: &[InstitutionId]) -> StorageResult<Vec<Institution>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(institution) = self.institution(*id).await? {
                found.push(institution);
            }
        }
        Ok(found)
    }

    async fn create_login(&self, name: &LoginName, password_hash: &str) -> StorageResult<LoginId> {
        let id: i64 = sqlx::query_scalar("INSERT INTO logins (name, password_hash) VALUES ($1, $2) RETURNING id")
            .bind(name.as_str())
            .bind(password_hash)
            .fetch_one(&self.writer)
            .await
            .db()?;
        Ok(LoginId(id))
    }

    async fn login(&self, id: LoginId) -> StorageResult<Option<LoginRecord>> {
        let row: Option<LoginRow> = sqlx::query_as(
            "SELECT id, name, password_hash, disabled, master_of, last_institution_id FROM logins WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(LoginRow::record).transpose()
    }

    async fn login_by_name(&self, name: &LoginName) -> StorageResult<Option<LoginRecord>> {
        let row: Option<LoginRow> = sqlx::query_as(
            "SELECT id, name, password_hash, disabled, master_of, last_institution_id FROM logins WHERE name = $1",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(LoginRow::record).transpose()
    }

    async fn set_password_hash(&self, id: LoginId, password_hash: &str, now: Millis) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        sqlx::query("UPDATE logins SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .found()?;
        Self::end_live_sessions(&mut tx, id, SessionEnd::PasswordChanged, now).await?;
        tx.commit().await.db()
    }

    async fn set_login_disabled(&self, id: LoginId, disabled: bool, now: Millis) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        sqlx::query("UPDATE logins SET disabled = $1 WHERE id = $2")
            .bind(disabled)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .found()?;
        if disabled {
            Self::end_live_sessions(&mut tx, id, SessionEnd::LoginDisabled, now).await?;
        }
        tx.commit().await.db()
    }

    async fn set_master(&self, id: LoginId, branch: Option<InstitutionId>) -> StorageResult<()> {
        sqlx::query("UPDATE logins SET master_of = $1 WHERE id = $2")
            .bind(branch.map(|b| b.0))
            .bind(id.0)
            .execute(&self.writer)
            .await
        .found()
    }

    async fn set_last_institution(&self, id: LoginId, institution: InstitutionId) -> StorageResult<()> {
        sqlx::query("UPDATE logins SET last_institution_id = $1 WHERE id = $2")
            .bind(institution.0)
            .bind(id.0)
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }

    async fn set_membership(&self, login: LoginId, institution: InstitutionId, rights: Rights) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO memberships (login_id, institution_id, is_admin, is_pda, is_backoffice) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (login_id, institution_id) DO UPDATE SET \
             is_admin = excluded.is_admin, is_pda = excluded.is_pda, is_backoffice = excluded.is_backoffice",
        )
        .bind(login.0)
        .bind(institution.0)
        .bind(rights.admin)
        .bind(rights.pda)
        .bind(rights.backoffice)
        .execute(&self.writer)
        .await
        .or_missing_row()?;
        Ok(())
    }

    async fn remove_membership(
        &self,
        login: LoginId,
        institution: InstitutionId,
    ) -> StorageResult<MembershipRemoval> {
        // Removals of one login queue on its row, so two of them cannot each leave
        // the other's membership as the last one and then both go.
        let mut tx = self.writer.begin().await.db()?;
        sqlx::query("UPDATE logins SET disabled = disabled WHERE id = $1")
            .bind(login.0)
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("DELETE FROM memberships WHERE login_id = $1 AND institution_id = $2")
            .bind(login.0)
            .bind(institution.0)
            .execute(&mut *tx)
            .await
            .found()?;
        let reachable: bool = sqlx::query_scalar(
            "SELECT l.master_of IS NOT NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.login_id = l.id) \
             FROM logins l WHERE l.id = $1",
        )
        .bind(login.0)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        if !reachable {
            return Ok(MembershipRemoval::LastOne);
        }
        tx.commit().await.db()?;
        Ok(MembershipRemoval::Removed)
    }

    async fn memberships(&self, login: LoginId) -> StorageResult<Vec<(InstitutionId, Rights)>> {
        let rows: Vec<MembershipRow> = sqlx::query_as(
            "SELECT institution_id, is_admin, is_pda, is_backoffice FROM memberships WHERE login_id = $1 ORDER BY institution_id",
        )
        .bind(login.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows.into_iter().map(|r| (InstitutionId(r.institution_id), r.rights.into())).collect())
    }

    async fn members(&self, institution: InstitutionId) -> StorageResult<Vec<MemberRecord>> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT l.id, l.name, l.disabled, l.master_of, m.is_admin, m.is_pda, m.is_backoffice \
             FROM memberships m JOIN logins l ON l.id = m.login_id \
             WHERE m.institution_id = $1 ORDER BY l.name",
        )
        .bind(institution.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(MemberRow::record).collect()
    }

    async fn start_session(&self, login: LoginId, token_hash: &str, now: Millis) -> StorageResult<()> {
        // Sign-ins of one login queue on its row (a no-op write locks it on both
        // databases); the unique index stays the guarantee, and a sign-in that still
        // loses a race retries, ending the winner's session in turn.
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            let mut tx = self.writer.begin().await.db()?;
            sqlx::query("UPDATE logins SET disabled = disabled WHERE id = $1")
                .bind(login.0)
                .execute(&mut *tx)
                .await
                .db()?;
            Self::end_live_sessions(&mut tx, login, SessionEnd::SignedInElsewhere, now).await?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (token_hash, login_id, started_at, last_seen_at) VALUES ($1, $2, $3, $3)",
            )
                .bind(token_hash)
                .bind(login.0)
                .bind(now)
                .execute(&mut *tx)
                .await;
            match inserted.db() {
                Ok(_) => return tx.commit().await.db(),
                Err(StorageError::AlreadyExists) if attempt < ATTEMPTS => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StorageError::AlreadyExists)
    }

    async fn session_actor(
        &self,
        token_hash: &str,
        now: Millis,
        limits: SessionLimits,
    ) -> StorageResult<SessionActor> {
        let rows: Vec<SessionRow> = sqlx::query_as(
            "SELECT s.login_id, s.started_at, s.last_seen_at, s.ended_at, s.end_reason, l.disabled, l.master_of, \
             m.institution_id, m.is_admin, m.is_pda, m.is_backoffice \
             FROM sessions s JOIN logins l ON l.id = s.login_id \
             LEFT JOIN memberships m ON m.login_id = l.id \
             WHERE s.token_hash = $1 ORDER BY m.institution_id",
        )
        .bind(token_hash)
        .fetch_all(&self.pool)
        .await
        .db()?;
        let Some(first) = rows.first() else { return Ok(SessionActor::None) };
        if first.ended_at.is_some() {
            return Ok(SessionActor::Ended(first.end_reason()));
        }
        if now - first.started_at >= limits.lifetime || now - first.last_seen_at >= limits.idle {
            return Ok(SessionActor::Ended(SessionEnd::Expired));
        }
        if first.disabled {
            return Ok(SessionActor::None);
        }
        if now - first.last_seen_at >= SESSION_SEEN_EVERY_MS {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
                .bind(now)
                .bind(token_hash)
                .execute(&self.writer)
                .await
                .db()?;
        }
        Ok(SessionActor::Live(app::authorization::Actor {
            login_id: LoginId(first.login_id),
            master_of: first.master_of.map(InstitutionId),
            memberships: rows.iter().filter_map(SessionRow::membership).collect(),
        }))
    }

    async fn end_session(&self, token_hash: &str, now: Millis) -> StorageResult<()> {
        sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE token_hash = $3 AND ended_at IS NULL")
            .bind(now)
            .bind(end_reason_code(SessionEnd::SignedOut))
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }

    async fn reserve_signin_attempt(
        &self,
        keys: &[ThrottleKey],
        now: Millis,
    ) -> StorageResult<Reservation> {
        // Keys are taken in one order, so two attempts never wait on each other's.
        let mut keys: Vec<_> = keys.iter().collect();
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        let mut tx = self.writer.begin().await.db()?;
        let mut counted = Vec::with_capacity(keys.len());
        let mut wait_until: Option<Millis> = None;
        for key in keys {
            // Creates the counter or locks it (a no-op update) and reads it, in one
            // statement: concurrent attempts on one key queue here.
            let row: ThrottleRow = sqlx::query_as(
                "INSERT INTO signin_throttle (throttle_key, login, attempts, last_attempt_at, next_allowed_at) \
                 VALUES ($1, $2, 0, 0, 0) \
                 ON CONFLICT (throttle_key) DO UPDATE SET attempts = signin_throttle.attempts \
                 RETURNING attempts, last_attempt_at, next_allowed_at",
            )
            .bind(&key.key)
            .bind(key.login.as_deref())
            .fetch_one(&mut *tx)
            .await
            .db()?;
            match attempt(row.key_state(), key.free_attempts, now) {
                Ok(next) => counted.push((key, next)),
                Err(until) => wait_until = Some(wait_until.map_or(until, |w| w.max(until))),
            }
        }
        if let Some(until) = wait_until {
            tx.rollback().await.db()?;
            return Ok(Reservation::Wait { retry_after_ms: until - now });
        }
        for (key, next) in counted {
            sqlx::query(
                "UPDATE signin_throttle SET attempts = $1, last_attempt_at = $2, next_allowed_at = $3 WHERE throttle_key = $4",
            )
            .bind(i64::from(next.attempts))
            .bind(next.last_attempt_at)
            .bind(next.next_allowed_at)
            .bind(&key.key)
            .execute(&mut *tx)
            .await
            .db()?;
        }
        // Counters quiet for longer than any delay mean nothing any more.
        sqlx::query("DELETE FROM signin_throttle WHERE last_attempt_at < $1 AND next_allowed_at < $2")
            .bind(now - SIGNIN_THROTTLE_RETENTION_MS)
            .bind(now)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(Reservation::Granted)
    }

    async fn signin_succeeded(
        &self,
        forget: &ThrottleKey,
        release: &ThrottleKey,
    ) -> StorageResult<()> {
        let mut tx = self.writer.begin().await.db()?;
        sqlx::query("DELETE FROM signin_throttle WHERE throttle_key = $1")
            .bind(&forget.key)
            .execute(&mut *tx)
            .await
            .db()?;
        // The address keeps its delay if it has one; it only stops counting this attempt.
        sqlx::query("UPDATE signin_throttle SET attempts = attempts - 1 WHERE throttle_key = $1 AND attempts > 0")
            .bind(&release.key)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()
    }

    async fn clear_signin_throttle(&self, login: &LoginName) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM signin_throttle WHERE login = $1")
            .bind(login.as_str())
            .execute(&self.writer)
            .await
            .db()?;
        Ok(done.rows_affected())
    }
}

impl<D: Dialect> SqlStorage<D>
where
    for<'c> &'c mut Connection<D>: Executor<'c, Database = D::Db>,
    for<'n> &'n str: ColumnIndex<Row<D>> + Encode<'n, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
{
    /// Ends every live session of `login`, for `reason`, inside the caller's transaction.
    async fn end_live_sessions(
        tx: &mut sqlx::Transaction<'_, D::Db>,
        login: LoginId,
        reason: SessionEnd,
        now: Millis,
    ) -> StorageResult<()> {
        sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE login_id = $3 AND ended_at IS NULL")
            .bind(now)
            .bind(end_reason_code(reason))
            .bind(login.0)
            .execute(&mut **tx)
            .await
            .db()?;
        Ok(())
    }
}
