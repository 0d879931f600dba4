//! Statements built piece by piece (lists of numbers, rows of values), in code generic over the
//! database. sqlx's `QueryBuilder` cannot run there: its `build` borrows it for as long as the
//! values bound, which drop check refuses once the arguments' type is the database's associated
//! type rather than a concrete one. Here the text and the arguments are taken out, and run with
//! `sqlx::query_with` (and its `_as`, `_scalar` kin).

use app::ssr::storage::{StorageError, StorageResult};
use sqlx::error::BoxDynError;
use sqlx::{Arguments, Database, Encode, Type};

pub(super) struct Statement<'a, DB: Database> {
    sql: String,
    arguments: DB::Arguments<'a>,
    /// The first value that could not be encoded: the statement then fails.
    failed: Option<BoxDynError>,
}

impl<'a, DB: Database> Statement<'a, DB> {
    pub(super) fn new(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), arguments: Default::default(), failed: None }
    }

    pub(super) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Binds `value`, and writes its placeholder.
    pub(super) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, DB> + Type<DB>,
    {
        if let Err(e) = self.arguments.add(value) {
            self.failed.get_or_insert(e);
        }
        if let Err(e) = self.arguments.format_placeholder(&mut self.sql) {
            self.failed.get_or_insert(Box::new(e));
        }
        self
    }

    /// `(v1, v2, …)`, each value bound.
    pub(super) fn push_list<T>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: 'a + Encode<'a, DB> + Type<DB>,
    {
        self.push("(");
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                self.push(", ");
            }
            self.push_bind(value);
        }
        self.push(")")
    }

    /// `VALUES (…), (…)`: a row for each item, whose values `row` binds in order.
    pub(super) fn push_values<I>(&mut self, items: impl IntoIterator<Item = I>, mut row: impl FnMut(&mut ValuesRow<'_, 'a, DB>, I)) -> &mut Self {
        self.push("VALUES ");
        for (index, item) in items.into_iter().enumerate() {
            self.push(if index > 0 { ", (" } else { "(" });
            row(&mut ValuesRow { statement: self, values: 0 }, item);
            self.push(")");
        }
        self
    }

    /// The statement's text and arguments, for `sqlx::query_with`.
    pub(super) fn finish(self) -> StorageResult<(String, DB::Arguments<'a>)> {
        match self.failed {
            Some(e) => Err(StorageError::Database(e)),
            None => Ok((self.sql, self.arguments)),
        }
    }
}

/// One row of `Statement::push_values`.
pub(super) struct ValuesRow<'s, 'a, DB: Database> {
    statement: &'s mut Statement<'a, DB>,
    values: usize,
}

impl<'a, DB: Database> ValuesRow<'_, 'a, DB> {
    pub(super) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, DB> + Type<DB>,
    {
        if self.values > 0 {
            self.statement.push(", ");
        }
        self.values += 1;
        self.statement.push_bind(value);
        self
    }
}
