//! Accounts: the SQL both databases run, written once. `account_storage!(Type, RowType)`
//! implements the contract for a type with `pool` (reads) and `writer` (writes) fields; sqlx
//! accepts `$n` placeholders on both databases and every statement here is portable SQL
//! (recursive CTEs, `ON CONFLICT`, `RETURNING`).

macro_rules! account_storage {
    ($storage:ty, $row:ty) => {
        #[async_trait::async_trait]
        impl app::backend::storage::AccountStorage for $storage {
            async fn root_institution(&self) -> StorageResult<Option<Institution>> {
                let row = sqlx::query("SELECT id, parent_id, name FROM institutions WHERE parent_id IS NULL")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database_error)?;
                row.map(|r| institution_row(&r)).transpose()
            }

            async fn create_institution(
                &self,
                parent: Option<InstitutionId>,
                name: &InstitutionName,
            ) -> StorageResult<Institution> {
                let row = sqlx::query(
                    "INSERT INTO institutions (parent_id, name) VALUES ($1, $2) RETURNING id, parent_id, name",
                )
                .bind(parent.map(|p| p.0))
                .bind(name.as_str())
                .fetch_one(&self.writer)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StorageError::NotFound,
                    _ => database_error(e),
                })?;
                institution_row(&row)
            }

            async fn rename_institution(&self, id: InstitutionId, name: &InstitutionName) -> StorageResult<()> {
                let done = sqlx::query("UPDATE institutions SET name = $1 WHERE id = $2")
                    .bind(name.as_str())
                    .bind(id.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn scan_deadline(&self, id: InstitutionId) -> StorageResult<u32> {
                let deadline: i32 = sqlx::query_scalar("SELECT scan_deadline_ms FROM institutions WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database_error)?
                    .ok_or(StorageError::NotFound)?;
                Ok(u32::try_from(deadline).unwrap_or(app::sync::protocol::DEFAULT_SCAN_DEADLINE_MS))
            }

            async fn set_scan_deadline(&self, id: InstitutionId, deadline_ms: u32) -> StorageResult<()> {
                let done = sqlx::query("UPDATE institutions SET scan_deadline_ms = $1 WHERE id = $2")
                    .bind(i32::try_from(deadline_ms).unwrap_or(i32::MAX))
                    .bind(id.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn institution(&self, id: InstitutionId) -> StorageResult<Option<Institution>> {
                let row = sqlx::query("SELECT id, parent_id, name FROM institutions WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database_error)?;
                row.map(|r| institution_row(&r)).transpose()
            }

            async fn ancestry(&self, id: InstitutionId) -> StorageResult<Vec<InstitutionId>> {
                let rows = sqlx::query(
                    "WITH RECURSIVE chain (id, parent_id, depth) AS ( \
                         SELECT id, parent_id, 0 FROM institutions WHERE id = $1 \
                         UNION ALL \
                         SELECT i.id, i.parent_id, c.depth + 1 FROM institutions i JOIN chain c ON i.id = c.parent_id \
                     ) SELECT id FROM chain ORDER BY depth",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| r.try_get::<i64, _>("id").map(InstitutionId).map_err(database_error))
                    .collect()
            }

            async fn branch(&self, id: InstitutionId) -> StorageResult<Vec<Institution>> {
                let rows = sqlx::query(
                    "WITH RECURSIVE sub (id) AS ( \
                         SELECT id FROM institutions WHERE id = $1 \
                         UNION ALL \
                         SELECT i.id FROM institutions i JOIN sub s ON i.parent_id = s.id \
                     ) SELECT i.id, i.parent_id, i.name FROM institutions i JOIN sub s ON i.id = s.id ORDER BY i.id",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter().map(institution_row).collect()
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
                let row = sqlx::query("INSERT INTO logins (name, password_hash) VALUES ($1, $2) RETURNING id")
                    .bind(name.as_str())
                    .bind(password_hash)
                    .fetch_one(&self.writer)
                    .await
                    .map_err(database_error)?;
                Ok(LoginId(row.try_get("id").map_err(database_error)?))
            }

            async fn login(&self, id: LoginId) -> StorageResult<Option<LoginRecord>> {
                let row = sqlx::query(
                    "SELECT id, name, password_hash, disabled, master_of, last_institution_id FROM logins WHERE id = $1",
                )
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(database_error)?;
                row.map(|r| login_row(&r)).transpose()
            }

            async fn login_by_name(&self, name: &LoginName) -> StorageResult<Option<LoginRecord>> {
                let row = sqlx::query(
                    "SELECT id, name, password_hash, disabled, master_of, last_institution_id FROM logins WHERE name = $1",
                )
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(database_error)?;
                row.map(|r| login_row(&r)).transpose()
            }

            async fn set_password_hash(&self, id: LoginId, password_hash: &str, now: Millis) -> StorageResult<()> {
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                let done = sqlx::query("UPDATE logins SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                end_live_sessions(&mut tx, id, SessionEnd::PasswordChanged, now).await?;
                tx.commit().await.map_err(database_error)
            }

            async fn set_login_disabled(&self, id: LoginId, disabled: bool, now: Millis) -> StorageResult<()> {
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                let done = sqlx::query("UPDATE logins SET disabled = $1 WHERE id = $2")
                    .bind(disabled)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                if disabled {
                    end_live_sessions(&mut tx, id, SessionEnd::LoginDisabled, now).await?;
                }
                tx.commit().await.map_err(database_error)
            }

            async fn set_master(&self, id: LoginId, branch: Option<InstitutionId>) -> StorageResult<()> {
                let done = sqlx::query("UPDATE logins SET master_of = $1 WHERE id = $2")
                    .bind(branch.map(|b| b.0))
                    .bind(id.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 { Err(StorageError::NotFound) } else { Ok(()) }
            }

            async fn set_last_institution(&self, id: LoginId, institution: InstitutionId) -> StorageResult<()> {
                sqlx::query("UPDATE logins SET last_institution_id = $1 WHERE id = $2")
                    .bind(institution.0)
                    .bind(id.0)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
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
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => StorageError::NotFound,
                    _ => database_error(e),
                })?;
                Ok(())
            }

            async fn remove_membership(
                &self,
                login: LoginId,
                institution: InstitutionId,
            ) -> StorageResult<app::backend::storage::MembershipRemoval> {
                use app::backend::storage::MembershipRemoval;
                // Removals of one login queue on its row, so two of them cannot each leave
                // the other's membership as the last one and then both go.
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                sqlx::query("UPDATE logins SET disabled = disabled WHERE id = $1")
                    .bind(login.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                let done = sqlx::query("DELETE FROM memberships WHERE login_id = $1 AND institution_id = $2")
                    .bind(login.0)
                    .bind(institution.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                if done.rows_affected() == 0 {
                    return Err(StorageError::NotFound);
                }
                let reachable: bool = sqlx::query_scalar(
                    "SELECT l.master_of IS NOT NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.login_id = l.id) \
                     FROM logins l WHERE l.id = $1",
                )
                .bind(login.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(database_error)?;
                if !reachable {
                    return Ok(MembershipRemoval::LastOne);
                }
                tx.commit().await.map_err(database_error)?;
                Ok(MembershipRemoval::Removed)
            }

            async fn memberships(&self, login: LoginId) -> StorageResult<Vec<(InstitutionId, Rights)>> {
                let rows = sqlx::query(
                    "SELECT institution_id, is_admin, is_pda, is_backoffice FROM memberships WHERE login_id = $1 ORDER BY institution_id",
                )
                .bind(login.0)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| Ok((InstitutionId(r.try_get("institution_id").map_err(database_error)?), rights_row(r)?)))
                    .collect()
            }

            async fn members(&self, institution: InstitutionId) -> StorageResult<Vec<MemberRecord>> {
                let rows = sqlx::query(
                    "SELECT l.id, l.name, l.disabled, l.master_of, m.is_admin, m.is_pda, m.is_backoffice \
                     FROM memberships m JOIN logins l ON l.id = m.login_id \
                     WHERE m.institution_id = $1 ORDER BY l.name",
                )
                .bind(institution.0)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                rows.iter()
                    .map(|r| {
                        Ok(MemberRecord {
                            login_id: LoginId(r.try_get("id").map_err(database_error)?),
                            name: login_name_from(r.try_get("name").map_err(database_error)?)?,
                            rights: rights_row(r)?,
                            disabled: r.try_get("disabled").map_err(database_error)?,
                            master_of: r.try_get::<Option<i64>, _>("master_of").map_err(database_error)?.map(InstitutionId),
                        })
                    })
                    .collect()
            }

            async fn start_session(&self, login: LoginId, token_hash: &str, now: Millis) -> StorageResult<()> {
                // Sign-ins of one login queue on its row (a no-op write locks it on both
                // databases); the unique index stays the guarantee, and a sign-in that still
                // loses a race retries, ending the winner's session in turn.
                const ATTEMPTS: usize = 5;
                for attempt in 1..=ATTEMPTS {
                    let mut tx = self.writer.begin().await.map_err(database_error)?;
                    sqlx::query("UPDATE logins SET disabled = disabled WHERE id = $1")
                        .bind(login.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(database_error)?;
                    end_live_sessions(&mut tx, login, SessionEnd::SignedInElsewhere, now).await?;
                    let inserted = sqlx::query(
                        "INSERT INTO sessions (token_hash, login_id, started_at, last_seen_at) VALUES ($1, $2, $3, $3)",
                    )
                        .bind(token_hash)
                        .bind(login.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await;
                    match inserted {
                        Ok(_) => return tx.commit().await.map_err(database_error),
                        Err(e) => match database_error(e) {
                            StorageError::AlreadyExists if attempt < ATTEMPTS => continue,
                            other => return Err(other),
                        },
                    }
                }
                Err(StorageError::AlreadyExists)
            }

            async fn session_actor(
                &self,
                token_hash: &str,
                now: Millis,
                limits: app::backend::storage::SessionLimits,
            ) -> StorageResult<SessionActor> {
                let rows = sqlx::query(
                    "SELECT s.login_id, s.started_at, s.last_seen_at, s.ended_at, s.end_reason, l.disabled, l.master_of, \
                     m.institution_id, m.is_admin, m.is_pda, m.is_backoffice \
                     FROM sessions s JOIN logins l ON l.id = s.login_id \
                     LEFT JOIN memberships m ON m.login_id = l.id \
                     WHERE s.token_hash = $1 ORDER BY m.institution_id",
                )
                .bind(token_hash)
                .fetch_all(&self.pool)
                .await
                .map_err(database_error)?;
                let Some(first) = rows.first() else { return Ok(SessionActor::None) };
                if first.try_get::<Option<i64>, _>("ended_at").map_err(database_error)?.is_some() {
                    return Ok(SessionActor::Ended(end_reason_from(first.try_get("end_reason").map_err(database_error)?)));
                }
                let started_at: i64 = first.try_get("started_at").map_err(database_error)?;
                let last_seen_at: i64 = first.try_get("last_seen_at").map_err(database_error)?;
                if now - started_at >= limits.lifetime || now - last_seen_at >= limits.idle {
                    return Ok(SessionActor::Ended(SessionEnd::Expired));
                }
                if first.try_get::<bool, _>("disabled").map_err(database_error)? {
                    return Ok(SessionActor::None);
                }
                if now - last_seen_at >= SESSION_SEEN_EVERY_MS {
                    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
                        .bind(now)
                        .bind(token_hash)
                        .execute(&self.writer)
                        .await
                        .map_err(database_error)?;
                }
                let mut memberships = Vec::new();
                for row in &rows {
                    if let Some(institution) = row.try_get::<Option<i64>, _>("institution_id").map_err(database_error)? {
                        memberships.push((InstitutionId(institution), rights_row(row)?));
                    }
                }
                Ok(SessionActor::Live(app::authorization::Actor {
                    login_id: LoginId(first.try_get("login_id").map_err(database_error)?),
                    master_of: first.try_get::<Option<i64>, _>("master_of").map_err(database_error)?.map(InstitutionId),
                    memberships,
                }))
            }

            async fn end_session(&self, token_hash: &str, now: Millis) -> StorageResult<()> {
                sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE token_hash = $3 AND ended_at IS NULL")
                    .bind(now)
                    .bind(end_reason_code(SessionEnd::SignedOut))
                    .bind(token_hash)
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                Ok(())
            }

            async fn reserve_signin_attempt(
                &self,
                keys: &[app::backend::signin_throttle::ThrottleKey],
                now: Millis,
            ) -> StorageResult<app::backend::signin_throttle::Reservation> {
                use app::backend::signin_throttle::{KeyState, Reservation, attempt};
                // Keys are taken in one order, so two attempts never wait on each other's.
                let mut keys: Vec<_> = keys.iter().collect();
                keys.sort_by(|a, b| a.key.cmp(&b.key));
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                let mut counted = Vec::with_capacity(keys.len());
                let mut wait_until: Option<Millis> = None;
                for key in keys {
                    // Creates the counter or locks it (a no-op update) and reads it, in one
                    // statement: concurrent attempts on one key queue here.
                    let row = sqlx::query(
                        "INSERT INTO signin_throttle (throttle_key, login, attempts, last_attempt_at, next_allowed_at) \
                         VALUES ($1, $2, 0, 0, 0) \
                         ON CONFLICT (throttle_key) DO UPDATE SET attempts = signin_throttle.attempts \
                         RETURNING attempts, last_attempt_at, next_allowed_at",
                    )
                    .bind(&key.key)
                    .bind(key.login.as_deref())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(database_error)?;
                    let current = KeyState {
                        attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(database_error)?).unwrap_or(u32::MAX),
                        last_attempt_at: row.try_get("last_attempt_at").map_err(database_error)?,
                        next_allowed_at: row.try_get("next_allowed_at").map_err(database_error)?,
                    };
                    match attempt(current, key.free_attempts, now) {
                        Ok(next) => counted.push((key, next)),
                        Err(until) => wait_until = Some(wait_until.map_or(until, |w| w.max(until))),
                    }
                }
                if let Some(until) = wait_until {
                    tx.rollback().await.map_err(database_error)?;
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
                    .map_err(database_error)?;
                }
                // Counters quiet for longer than any delay mean nothing any more.
                sqlx::query("DELETE FROM signin_throttle WHERE last_attempt_at < $1 AND next_allowed_at < $2")
                    .bind(now - SIGNIN_THROTTLE_RETENTION_MS)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                tx.commit().await.map_err(database_error)?;
                Ok(Reservation::Granted)
            }

            async fn signin_succeeded(
                &self,
                forget: &app::backend::signin_throttle::ThrottleKey,
                release: &app::backend::signin_throttle::ThrottleKey,
            ) -> StorageResult<()> {
                let mut tx = self.writer.begin().await.map_err(database_error)?;
                sqlx::query("DELETE FROM signin_throttle WHERE throttle_key = $1")
                    .bind(&forget.key)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                // The address keeps its delay if it has one; it only stops counting this attempt.
                sqlx::query("UPDATE signin_throttle SET attempts = attempts - 1 WHERE throttle_key = $1 AND attempts > 0")
                    .bind(&release.key)
                    .execute(&mut *tx)
                    .await
                    .map_err(database_error)?;
                tx.commit().await.map_err(database_error)
            }

            async fn clear_signin_throttle(&self, login: &LoginName) -> StorageResult<u64> {
                let done = sqlx::query("DELETE FROM signin_throttle WHERE login = $1")
                    .bind(login.as_str())
                    .execute(&self.writer)
                    .await
                    .map_err(database_error)?;
                Ok(done.rows_affected())
            }
        }

        /// Ends every live session of `login`, for `reason`, inside the caller's transaction.
        async fn end_live_sessions(
            tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
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
                .map_err(database_error)?;
            Ok(())
        }

        fn institution_row(row: &$row) -> StorageResult<Institution> {
            institution_from(
                row.try_get("id").map_err(database_error)?,
                row.try_get("parent_id").map_err(database_error)?,
                row.try_get("name").map_err(database_error)?,
            )
        }

        fn login_row(row: &$row) -> StorageResult<LoginRecord> {
            Ok(LoginRecord {
                id: LoginId(row.try_get("id").map_err(database_error)?),
                name: login_name_from(row.try_get("name").map_err(database_error)?)?,
                password_hash: row.try_get("password_hash").map_err(database_error)?,
                disabled: row.try_get("disabled").map_err(database_error)?,
                master_of: row.try_get::<Option<i64>, _>("master_of").map_err(database_error)?.map(InstitutionId),
                last_institution: row
                    .try_get::<Option<i64>, _>("last_institution_id")
                    .map_err(database_error)?
                    .map(InstitutionId),
            })
        }

        fn rights_row(row: &$row) -> StorageResult<Rights> {
            Ok(Rights {
                admin: row.try_get("is_admin").map_err(database_error)?,
                pda: row.try_get("is_pda").map_err(database_error)?,
                backoffice: row.try_get("is_backoffice").map_err(database_error)?,
            })
        }
    };
}
