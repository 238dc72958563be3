//! The two database back ends behind [`History`](crate::History): the embedded SQLite
//! file (rusqlite) and, with feature `postgres`, a PostgreSQL server (the sync
//! `postgres` client, no TLS). Both run the same SQL text: statements are written with
//! SQLite's `?N` placeholders and [`to_dollar_placeholders`] is the one place that
//! rewrites them as PostgreSQL's `$N`. Values cross the seam as [`Value`]s, rows come
//! back as [`Row`]s, and text ordering is left to the caller (the two engines collate
//! differently), so both back ends give the same answers.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the history lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL server: `postgres://user[:password]@host:port/database`.
    Postgres(String),
}

impl Location {
    /// What `--db` or `$AITE_HISTORY_DB` holds: a path that is not UTF-8 is a file.
    pub fn from_path(p: &Path) -> Location {
        p.to_str().map_or_else(|| Location::Sqlite(p.to_path_buf()), Location::parse)
    }

    /// `postgres://…` or `postgresql://…` is a server, `sqlite:PATH` or any other text a file path.
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Location::Postgres(text.to_string());
        }
        Location::Sqlite(PathBuf::from(text.strip_prefix("sqlite:").unwrap_or(text)))
    }

    /// The SQLite file, if that is the back end.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }
}

impl fmt::Display for Location {
    /// The file path, or the URL with any password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// An error of either engine, or a value the history did not write.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    /// A column holds something the history never writes.
    #[error("{0}")]
    Value(String),
    /// The location names a back end this build lacks.
    #[error("{0}")]
    Unsupported(String),
    /// The server accepted the connection but did not finish the handshake in time.
    #[error("no answer from the server within {} s (the connection was accepted, the startup handshake never completed)", .0.as_secs_f64())]
    NoAnswer(std::time::Duration),
}

/// How long the PostgreSQL back end waits: for the TCP connection and the startup
/// handshake, and for the history's lock held by another recorder or migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgTimeouts {
    /// The connection and its handshake (a `connect_timeout` in the URL takes precedence for the socket).
    pub connect: std::time::Duration,
    /// PostgreSQL's `lock_timeout`: a held advisory lock or table lock is an error after this.
    pub lock: std::time::Duration,
}

impl Default for PgTimeouts {
    fn default() -> Self {
        PgTimeouts { connect: std::time::Duration::from_secs(10), lock: std::time::Duration::from_secs(30) }
    }
}

/// The server's own message (with its detail) rather than the client's short "db error".
#[cfg(feature = "postgres")]
fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{}: {} ({d})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

/// Connect with a bound on the socket and on the startup handshake (the client's own
/// `connect_timeout` covers the socket only: a server that accepts and never answers
/// would block forever), then set `lock_timeout` so a held lock is an error, not a wait.
#[cfg(feature = "postgres")]
fn pg_connect(url: &str, timeouts: PgTimeouts) -> Result<postgres::Client, DbError> {
    let mut config: postgres::Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(timeouts.connect);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    // The handshake runs on its own thread, so it can be abandoned when it never ends.
    std::thread::spawn(move || {
        let _ = tx.send(config.connect(postgres::NoTls));
    });
    let mut client = match rx.recv_timeout(timeouts.connect) {
        Ok(connected) => connected?,
        Err(_) => return Err(DbError::NoAnswer(timeouts.connect)),
    };
    client.batch_execute(&format!("SET lock_timeout = '{}ms'", timeouts.lock.as_millis().max(1)))?;
    Ok(client)
}

/// A value bound to, or read from, a statement: the four kinds the schema uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `vals![a, b, c]`: statement parameters.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { &[$($crate::backend::Value::from($v)),*][..] };
}
pub(crate) use vals;

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

/// Reading one column of a [`Row`] as a Rust type.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
    const WHAT: &'static str;
}
impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
    const WHAT: &'static str = "an integer";
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Real(x) => Some(*x),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
    const WHAT: &'static str = "a number";
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
    const WHAT: &'static str = "text";
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
    const WHAT: &'static str = T::WHAT;
}

impl Row {
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        let v = self.0.get(i).ok_or_else(|| DbError::Value(format!("no column {i}")))?;
        T::from_value(v).ok_or_else(|| DbError::Value(format!("column {i} holds {v:?}, expected {}", T::WHAT)))
    }
}

/// `?N` → `$N` outside string literals and quoted names: the one translation between
/// the recorder's SQLite statements and PostgreSQL.
pub fn to_dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '?') if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// An open connection to either back end.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(std::cell::RefCell<postgres::Client>),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conn::Sqlite(_) => "Conn::Sqlite",
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => "Conn::Postgres",
        })
    }
}

/// Key of the PostgreSQL advisory lock that serialises migrations and recordings
/// (SQLite's IMMEDIATE transaction does the same on a file).
#[cfg(feature = "postgres")]
const PG_LOCK: i64 = 0x6169_7465_6869_7374; // "aitehist"

impl Conn {
    /// Open `location`; a PostgreSQL server gets `timeouts` (SQLite waits 10 s on a busy file).
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    pub fn open_with(location: &Location, timeouts: PgTimeouts) -> Result<Conn, DbError> {
        match location {
            Location::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path)?;
                conn.busy_timeout(std::time::Duration::from_secs(10))?;
                conn.pragma_update(None, "foreign_keys", true)?;
                Ok(Conn::Sqlite(conn))
            }
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => Ok(Conn::Postgres(std::cell::RefCell::new(pg_connect(url, timeouts)?))),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => Err(DbError::Unsupported("this aite was built without the PostgreSQL back end (feature `postgres`)".into())),
        }
    }

    /// Several statements without parameters (a migration).
    pub fn batch(&self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => Ok(c.borrow_mut().batch_execute(sql)?),
        }
    }

    /// Begin a transaction that excludes other writers until [`Conn::commit`]:
    /// SQLite `BEGIN IMMEDIATE`; PostgreSQL `BEGIN` and the history's advisory lock.
    pub fn begin_exclusive(&self) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch("BEGIN IMMEDIATE")?),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => {
                let mut c = c.borrow_mut();
                c.batch_execute("BEGIN")?;
                c.execute("SELECT pg_advisory_xact_lock($1)", &[&PG_LOCK])?;
                Ok(())
            }
        }
    }

    pub fn commit(&self) -> Result<(), DbError> {
        self.batch("COMMIT")
    }

    pub fn rollback(&self) {
        let _ = self.batch("ROLLBACK");
    }

    /// Run `f` inside [`Conn::begin_exclusive`]; commit on success, roll back on error
    /// (`wrap` turns the engine's own errors into the caller's).
    pub fn exclusive<T, E>(&self, wrap: impl Fn(DbError) -> E, f: impl FnOnce(&Conn) -> Result<T, E>) -> Result<T, E> {
        self.begin_exclusive().map_err(&wrap)?;
        match f(self) {
            Ok(v) => {
                self.commit().map_err(&wrap)?;
                Ok(v)
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    /// One statement; returns the rows changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute(sql, rusqlite::params_from_iter(params.iter().map(sqlite_value)))? as u64),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => {
                let mut c = c.borrow_mut();
                let st = c.prepare(&to_dollar_placeholders(sql))?;
                let bound = pg::bind(&st, params)?;
                Ok(c.execute(&st, &pg::refs(&bound))?)
            }
        }
    }

    /// One query; every row.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare(sql)?;
                let n = st.column_count();
                let rows = st.query_map(rusqlite::params_from_iter(params.iter().map(sqlite_value)), |r| {
                    (0..n).map(|i| Ok(from_sqlite(r.get_ref(i)?))).collect::<rusqlite::Result<Vec<_>>>().map(Row)
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            }
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => {
                let mut c = c.borrow_mut();
                let st = c.prepare(&to_dollar_placeholders(sql))?;
                let bound = pg::bind(&st, params)?;
                c.query(&st, &pg::refs(&bound))?.iter().map(pg::row).collect()
            }
        }
    }

    /// The first row, if any.
    pub fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first column of the one row a query must return.
    pub fn query_one<T: FromValue>(&self, sql: &str, params: &[Value]) -> Result<T, DbError> {
        self.query_opt(sql, params)?.ok_or_else(|| DbError::Value(format!("no row from `{sql}`")))?.get(0)
    }

    /// SQLite's `PRAGMA user_version` (PostgreSQL has none: 0).
    pub fn user_version(&self) -> Result<i64, DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?),
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => Ok(0),
        }
    }

    /// Set SQLite's `PRAGMA user_version` (nothing on PostgreSQL).
    pub fn set_user_version(&self, v: i64) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.pragma_update(None, "user_version", v)?),
            #[cfg(feature = "postgres")]
            Conn::Postgres(_) => Ok(()),
        }
    }
}

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Integer(i) => rusqlite::types::Value::Integer(*i),
        Value::Real(x) => rusqlite::types::Value::Real(*x),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Binding [`Value`]s to the types PostgreSQL inferred for a statement's parameters,
/// and reading columns back by their type.
#[cfg(feature = "postgres")]
mod pg {
    use super::{DbError, Row, Value};
    use postgres::types::{ToSql, Type};

    pub fn bind(st: &postgres::Statement, params: &[Value]) -> Result<Vec<Box<dyn ToSql + Sync>>, DbError> {
        if st.params().len() != params.len() {
            return Err(DbError::Value(format!("statement takes {} parameters, {} given", st.params().len(), params.len())));
        }
        st.params().iter().zip(params).enumerate().map(|(i, (t, v))| one(i + 1, t, v)).collect()
    }

    fn one(n: usize, t: &Type, v: &Value) -> Result<Box<dyn ToSql + Sync>, DbError> {
        let bad = || DbError::Value(format!("parameter ${n} of type {t}: cannot bind {v:?}"));
        let int = |i: i64| -> Result<Box<dyn ToSql + Sync>, DbError> {
            Ok(match *t {
                Type::INT2 => Box::new(i16::try_from(i).map_err(|_| bad())?),
                Type::INT4 => Box::new(i32::try_from(i).map_err(|_| bad())?),
                Type::INT8 => Box::new(i),
                Type::FLOAT8 => Box::new(i as f64),
                _ => return Err(bad()),
            })
        };
        Ok(match v {
            Value::Null => match *t {
                Type::INT2 => Box::new(None::<i16>),
                Type::INT4 => Box::new(None::<i32>),
                Type::INT8 => Box::new(None::<i64>),
                Type::FLOAT4 => Box::new(None::<f32>),
                Type::FLOAT8 => Box::new(None::<f64>),
                _ => Box::new(None::<String>),
            },
            Value::Integer(i) => return int(*i),
            Value::Real(x) => match *t {
                Type::FLOAT8 => Box::new(*x),
                Type::FLOAT4 => Box::new(*x as f32),
                _ => return Err(bad()),
            },
            Value::Text(s) => match *t {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Box::new(s.clone()),
                _ => return Err(bad()),
            },
        })
    }

    pub fn refs(bound: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
        bound.iter().map(|b| b.as_ref()).collect()
    }

    pub fn row(r: &postgres::Row) -> Result<Row, DbError> {
        let mut out = Vec::with_capacity(r.len());
        for (i, c) in r.columns().iter().enumerate() {
            let v = match *c.type_() {
                Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|x| Value::Integer(x.into())),
                Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|x| Value::Integer(x.into())),
                Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Value::Integer),
                Type::FLOAT4 => r.try_get::<_, Option<f32>>(i)?.map(|x| Value::Real(x.into())),
                Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Value::Real),
                Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(|b| Value::Integer(b as i64)),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => r.try_get::<_, Option<String>>(i)?.map(Value::Text),
                ref t => return Err(DbError::Value(format!("column `{}` has type {t}, which the history never writes", c.name()))),
            };
            out.push(v.unwrap_or(Value::Null));
        }
        Ok(Row(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_literals() {
        assert_eq!(to_dollar_placeholders("SELECT a FROM t WHERE id = ?1 AND b LIKE ?12"), "SELECT a FROM t WHERE id = $1 AND b LIKE $12");
        assert_eq!(to_dollar_placeholders("SELECT '?1', \"?2\" FROM t WHERE x = ?3"), "SELECT '?1', \"?2\" FROM t WHERE x = $3");
        assert_eq!(to_dollar_placeholders("SELECT 'it''s ?1' WHERE y = ?2"), "SELECT 'it''s ?1' WHERE y = $2");
    }

    #[test]
    fn locations_parse_and_hide_passwords() {
        assert_eq!(Location::parse("sqlite:/tmp/h.sqlite3"), Location::Sqlite("/tmp/h.sqlite3".into()));
        assert_eq!(Location::parse("runs/h.sqlite3"), Location::Sqlite("runs/h.sqlite3".into()));
        let pg = Location::parse("postgres://lab:s3cret@127.0.0.1:5433/aite");
        assert_eq!(pg.to_string(), "postgres://lab:***@127.0.0.1:5433/aite");
        assert_eq!(Location::parse("postgresql://lab@db/aite").to_string(), "postgresql://lab@db/aite");
    }
}
