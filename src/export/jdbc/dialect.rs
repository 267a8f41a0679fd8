//! SQL text for the JDBC sink, per target database (PostgreSQL or MySQL/MariaDB):
//! identifier quoting, Gamay-to-SQL column types, DDL, batched INSERT/upsert,
//! UPDATE and DELETE with bound placeholders, and the watermark table that
//! records which segments have been exported.

use crate::catalog::DataType;

/// The table that records exported segments, one row per (connector, table, segment).
pub const WATERMARK_TABLE: &str = "gamay_connect_offsets";

/// Bound parameters one statement may carry: PostgreSQL's Bind message counts
/// them in 16 bits, and MySQL caps prepared statements at the same number.
const MAX_PLACEHOLDERS: usize = 65535;

/// The target database family; MariaDB is served by `MySql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
}

/// How rows are written (`insert.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

/// A column of the sink table, as needed for DDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<'a> {
    pub name: &'a str,
    pub ty: DataType,
    pub multi_value: bool,
    pub nullable: bool,
}

/// Why a statement could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialectError {
    #[error("empty identifier: every table, schema and column needs a non-empty name")]
    EmptyIdentifier,
    #[error("identifier {0:?} contains U+{1:04X}, which is not allowed (NUL anywhere, characters above U+FFFF in MySQL): rename it")]
    BadCharacter(String, u32),
    #[error("identifier {0:?} is {1} {3} long, over the limit of {2} {3}: shorten it")]
    TooLong(String, usize, usize, &'static str),
    #[error("identifier {0:?} ends with a space, which MySQL does not allow: remove it")]
    TrailingSpace(String),
    #[error("column {0:?} is JSON or multi-value, not valid as a MySQL key: use scalar pk.fields")]
    UnsupportedKey(String),
    #[error("key column {0:?} is not among the columns [{1}]: pk.fields must name table columns")]
    UnknownKey(String, String),
    #[error("a statement needs at least one column, got none")]
    NoColumns,
    #[error("a statement needs at least one row, got rows = 0")]
    NoRows,
    #[error("{0} rows x {1} values = {2} placeholders exceeds the limit of 65535 per statement: set batch.size to at most {3}")]
    BatchTooLarge(usize, usize, usize, usize),
    #[error("{0} needs key columns: set pk.mode and pk.fields")]
    NoKey(&'static str),
    #[error("insert.mode=update is not an INSERT: build the statement with update_row")]
    UpdateIsNotInsert,
    #[error("UPDATE has nothing to set: all columns are key columns, so use insert.mode=upsert")]
    NoValueColumns,
}

/// The result of building a statement.
pub type Result<T, E = DialectError> = std::result::Result<T, E>;

impl Dialect {
    /// Quotes one identifier (`"a""b"` for PostgreSQL, `` `a``b` `` for MySQL).
    /// Rejects empty names, NUL, names over 63 bytes (PostgreSQL, which would
    /// silently truncate them) or 64 characters (MySQL), and in MySQL characters
    /// above U+FFFF and a trailing space.
    pub fn quote_ident(&self, name: &str) -> Result<String> {
        let mysql = *self == Self::MySql;
        let bad = |c: char| c == '\0' || (mysql && c > '\u{FFFF}');
        let (len, max, unit) = match self {
            Self::Postgres => (name.len(), 63, "bytes"),
            Self::MySql => (name.chars().count(), 64, "characters"),
        };
        if name.is_empty() {
            Err(DialectError::EmptyIdentifier)
        } else if let Some(c) = name.chars().find(|&c| bad(c)) {
            Err(DialectError::BadCharacter(name.to_string(), c.into()))
        } else if len > max {
            Err(DialectError::TooLong(name.to_string(), len, max, unit))
        } else if mysql && name.ends_with(' ') {
            Err(DialectError::TrailingSpace(name.to_string()))
        } else if mysql {
            Ok(format!("`{}`", name.replace('`', "``")))
        } else {
            Ok(format!("\"{}\"", name.replace('"', "\"\"")))
        }
    }

    /// Quotes a table name. A name containing a dot is `schema.table`, split on
    /// the first dot (as Confluent's sink does) and each part quoted on its own:
    /// `a.b.c` is table `b.c` in schema (MySQL: database) `a`.
    pub fn quote_table(&self, name: &str) -> Result<String> {
        match name.split_once('.') {
            Some((schema, table)) => {
                let schema = self.quote_ident(schema)?;
                Ok(format!("{schema}.{}", self.quote_ident(table)?))
            }
            None => self.quote_ident(name),
        }
    }

    /// The SQL type of a column, after Confluent's mapping. Multi-value columns
    /// become arrays in PostgreSQL and `JSON` in MySQL, which has no arrays.
    /// MySQL keys use `VARCHAR(255)`/`VARBINARY(255)` for strings and bytes, as
    /// `TEXT`/`BLOB` cannot be keys without a prefix length.
    pub fn column_type(&self, column: &Column, is_key: bool) -> Result<String> {
        use DataType as T;
        let (pg, my) = match column.ty {
            T::Int => ("INTEGER", "INT"),
            T::Long => ("BIGINT", "BIGINT"),
            T::Float => ("REAL", "FLOAT"),
            T::Double => ("DOUBLE PRECISION", "DOUBLE"),
            T::BigDecimal => ("NUMERIC", "DECIMAL(65,30)"),
            T::Boolean => ("BOOLEAN", "BOOLEAN"),
            T::Timestamp => ("TIMESTAMPTZ", "DATETIME(3)"),
            T::String if is_key => ("TEXT", "VARCHAR(255)"),
            T::String => ("TEXT", "TEXT"),
            T::Json => ("JSONB", "JSON"),
            T::Bytes if is_key => ("BYTEA", "VARBINARY(255)"),
            T::Bytes => ("BYTEA", "LONGBLOB"),
        };
        let unkeyable = column.multi_value || column.ty == T::Json;
        match self {
            // Multi-value timestamps travel as lists of epoch milliseconds.
            Self::Postgres if column.multi_value && column.ty == T::Timestamp => {
                Ok("BIGINT[]".to_string())
            }
            Self::Postgres if column.multi_value => Ok(format!("{pg}[]")),
            Self::Postgres => Ok(pg.to_string()),
            Self::MySql if is_key && unkeyable => {
                Err(DialectError::UnsupportedKey(column.name.into()))
            }
            Self::MySql if column.multi_value => Ok("JSON".to_string()),
            Self::MySql => Ok(my.to_string()),
        }
    }

    /// `CREATE TABLE IF NOT EXISTS`: key columns are `NOT NULL` and form the
    /// primary key, which is left out when `key` is empty.
    pub fn create_table(&self, table: &str, columns: &[Column], key: &[&str]) -> Result<String> {
        let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        check_key(key, &names)?;
        let mut defs = Vec::new();
        for c in columns {
            let is_key = key.contains(&c.name);
            let ty = self.column_type(c, is_key)?;
            let mut def = format!("{} {ty}", self.quote_ident(c.name)?);
            if is_key || !c.nullable {
                def.push_str(" NOT NULL");
            }
            defs.push(def);
        }
        if defs.is_empty() {
            return Err(DialectError::NoColumns);
        }
        if !key.is_empty() {
            defs.push(format!("PRIMARY KEY ({})", self.list(key)?));
        }
        let (table, defs) = (self.quote_table(table)?, defs.join(", "));
        Ok(format!("CREATE TABLE IF NOT EXISTS {table} ({defs})"))
    }

    /// `ALTER TABLE ... ADD COLUMN`, always nullable: an added column cannot be
    /// `NOT NULL` without a default for the rows already there.
    pub fn add_column(&self, table: &str, column: &Column) -> Result<String> {
        let (table, name) = (self.quote_table(table)?, self.quote_ident(column.name)?);
        let ty = self.column_type(column, false)?;
        Ok(format!("ALTER TABLE {table} ADD COLUMN {name} {ty}"))
    }

    /// A multi-row INSERT of `rows` tuples, placeholders numbered row-major.
    /// Upsert appends `ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v` (PostgreSQL;
    /// one batch must not hold a key twice) or `ON DUPLICATE KEY UPDATE v =
    /// VALUES(v)` (MySQL and MariaDB); with only key columns, `DO NOTHING` / `k = k`.
    pub fn insert_values(
        &self,
        table: &str,
        columns: &[&str],
        rows: usize,
        mode: InsertMode,
        key: &[&str],
    ) -> Result<String> {
        match mode {
            InsertMode::Update => return Err(DialectError::UpdateIsNotInsert),
            InsertMode::Upsert if key.is_empty() => {
                return Err(DialectError::NoKey("insert.mode=upsert"));
            }
            InsertMode::Upsert => check_key(key, columns)?,
            InsertMode::Insert => {}
        }
        let (table, names) = (self.quote_table(table)?, self.list(columns)?);
        let values = self.placeholder_rows(columns.len(), rows, true)?;
        let mut sql = format!("INSERT INTO {table} ({names}) VALUES {values}");
        if mode == InsertMode::Upsert {
            let mut sets = Vec::new();
            for c in columns.iter().filter(|c| !key.contains(c)) {
                let q = self.quote_ident(c)?;
                sets.push(match self {
                    Self::Postgres => format!("{q} = EXCLUDED.{q}"),
                    Self::MySql => format!("{q} = VALUES({q})"),
                });
            }
            let (keys, sets) = (self.quote_all(key)?, sets.join(", "));
            let all = keys.join(", ");
            sql.push_str(&match (self, keys.first()) {
                (Self::Postgres, _) if sets.is_empty() => {
                    format!(" ON CONFLICT ({all}) DO NOTHING")
                }
                (Self::Postgres, _) => format!(" ON CONFLICT ({all}) DO UPDATE SET {sets}"),
                (Self::MySql, Some(k)) if sets.is_empty() => {
                    format!(" ON DUPLICATE KEY UPDATE {k} = {k}")
                }
                (Self::MySql, _) => format!(" ON DUPLICATE KEY UPDATE {sets}"),
            });
        }
        Ok(sql)
    }

    /// A single-row `UPDATE ... SET v = ?, ... WHERE k = ? AND ...`. `columns`
    /// may include the key columns, which are left out of `SET`; placeholders
    /// take the non-key values first, then the keys.
    pub fn update_row(&self, table: &str, columns: &[&str], key: &[&str]) -> Result<String> {
        if key.is_empty() {
            return Err(DialectError::NoKey("UPDATE"));
        }
        let values = columns.iter().filter(|c| !key.contains(c));
        let mut sets = Vec::new();
        for (n, c) in values.enumerate() {
            let ph = self.placeholder(n + 1);
            sets.push(format!("{} = {ph}", self.quote_ident(c)?));
        }
        if sets.is_empty() {
            return Err(DialectError::NoValueColumns);
        }
        let mut conds = Vec::new();
        for (n, k) in key.iter().enumerate() {
            let ph = self.placeholder(sets.len() + n + 1);
            conds.push(format!("{} = {ph}", self.quote_ident(k)?));
        }
        let (sets, conds) = (sets.join(", "), conds.join(" AND "));
        let table = self.quote_table(table)?;
        Ok(format!("UPDATE {table} SET {sets} WHERE {conds}"))
    }

    /// `DELETE ... WHERE k IN (?, ...)`, or `WHERE (k1, k2) IN ((?, ?), ...)` for
    /// a composite key, for `rows` keys.
    pub fn delete_rows(&self, table: &str, key: &[&str], rows: usize) -> Result<String> {
        if key.is_empty() {
            return Err(DialectError::NoKey("DELETE"));
        }
        let (table, keys) = (self.quote_table(table)?, self.list(key)?);
        let list = self.placeholder_rows(key.len(), rows, key.len() > 1)?;
        Ok(match key.len() {
            1 => format!("DELETE FROM {table} WHERE {keys} IN ({list})"),
            _ => format!("DELETE FROM {table} WHERE ({keys}) IN ({list})"),
        })
    }

    /// DDL for [`WATERMARK_TABLE`]; `exported_at` defaults to the current time.
    pub fn watermark_ddl(&self) -> String {
        let (ts, now) = match self {
            Self::Postgres => ("TIMESTAMPTZ", "CURRENT_TIMESTAMP"),
            Self::MySql => ("DATETIME(3)", "CURRENT_TIMESTAMP(3)"),
        };
        self.requote(format!(
            "CREATE TABLE IF NOT EXISTS \"{WATERMARK_TABLE}\" (\"connector\" VARCHAR(255) NOT NULL, \
             \"source_table\" VARCHAR(255) NOT NULL, \"segment\" VARCHAR(255) NOT NULL, \
             \"row_count\" BIGINT NOT NULL, \"exported_at\" {ts} NOT NULL DEFAULT {now}, \
             PRIMARY KEY (\"connector\", \"source_table\", \"segment\"))"
        ))
    }

    /// A plain INSERT of (connector, source_table, segment, row_count): a
    /// segment exported twice violates the primary key, which is the point.
    pub fn watermark_insert(&self) -> String {
        let cols = "\"connector\", \"source_table\", \"segment\", \"row_count\"";
        let values: Vec<String> = (1..=4).map(|n| self.placeholder(n)).collect();
        let values = values.join(", ");
        self.requote(format!(
            "INSERT INTO \"{WATERMARK_TABLE}\" ({cols}) VALUES ({values})"
        ))
    }

    /// Selects `source_table, segment` of the segments one connector has exported.
    pub fn watermark_select(&self) -> String {
        let (t, ph) = (WATERMARK_TABLE, self.placeholder(1));
        let sql =
            format!("SELECT \"source_table\", \"segment\", \"row_count\" FROM \"{t}\" WHERE \"connector\" = {ph}");
        self.requote(sql)
    }

    /// Turns the `"` quotes of fixed, quote-free identifiers into this dialect's.
    fn requote(&self, sql: String) -> String {
        match self {
            Self::Postgres => sql,
            Self::MySql => sql.replace('"', "`"),
        }
    }

    fn quote_all(&self, names: &[&str]) -> Result<Vec<String>> {
        names.iter().map(|n| self.quote_ident(n)).collect()
    }

    fn list(&self, names: &[&str]) -> Result<String> {
        Ok(self.quote_all(names)?.join(", "))
    }

    fn placeholder(&self, n: usize) -> String {
        match self {
            Self::Postgres => format!("${n}"),
            Self::MySql => "?".to_string(),
        }
    }

    /// `rows` lists of `per_row` placeholders numbered row-major, each in
    /// parentheses when `wrap`, joined by commas.
    fn placeholder_rows(&self, per_row: usize, rows: usize, wrap: bool) -> Result<String> {
        let total = rows.saturating_mul(per_row);
        if per_row == 0 {
            return Err(DialectError::NoColumns);
        } else if rows == 0 {
            return Err(DialectError::NoRows);
        } else if total > MAX_PLACEHOLDERS {
            let max_rows = MAX_PLACEHOLDERS / per_row;
            return Err(DialectError::BatchTooLarge(rows, per_row, total, max_rows));
        }
        let mut out = String::new();
        for r in 0..rows {
            let row: Vec<String> = (1..=per_row)
                .map(|i| self.placeholder(r * per_row + i))
                .collect();
            let row = row.join(", ");
            out.push_str(if r == 0 { "" } else { ", " });
            out.push_str(&if wrap { format!("({row})") } else { row });
        }
        Ok(out)
    }
}

fn check_key(key: &[&str], columns: &[&str]) -> Result<()> {
    match key.iter().find(|k| !columns.contains(k)) {
        Some(k) => Err(DialectError::UnknownKey(k.to_string(), columns.join(", "))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataType as T;
    use InsertMode::{Insert, Update, Upsert};

    const PG: Dialect = Dialect::Postgres;
    const MY: Dialect = Dialect::MySql;

    fn col(name: &str, ty: DataType) -> Column<'_> {
        Column {
            name,
            ty,
            multi_value: false,
            nullable: true,
        }
    }

    /// Asserts the statement `f` builds for PostgreSQL and for MySQL.
    fn both(f: impl Fn(Dialect) -> Result<String>, pg: &str, my: &str) {
        assert_eq!((f(PG), f(MY)), (Ok(pg.to_string()), Ok(my.to_string())));
    }

    fn check(got: Result<String>, want: &str) {
        assert_eq!(got.as_deref(), Ok(want));
    }

    fn error(got: Result<String>) -> String {
        got.expect_err("statement should be rejected").to_string()
    }

    #[test]
    fn hostile_names_are_quoted() {
        let cases = [
            (r#"a"; DROP TABLE x; --"#, r#""a""; DROP TABLE x; --""#),
            ("a`b", r#""a`b""#),
            ("Robert'); --", r#""Robert'); --""#),
            ("preço", r#""preço""#),
            (r#"""#, r#""""""#),
        ];
        for (name, pg) in cases {
            check(PG.quote_ident(name), pg);
        }
        let cases = [
            (r#"a"; DROP TABLE x; --"#, r#"`a"; DROP TABLE x; --`"#),
            ("a`b", "`a``b`"),
            ("Robert'); --", "`Robert'); --`"),
            ("preço", "`preço`"),
            ("``", "``````"),
        ];
        for (name, my) in cases {
            check(MY.quote_ident(name), my);
        }
    }

    #[test]
    fn identifier_limits() {
        for d in [PG, MY] {
            assert_eq!(d.quote_ident(""), Err(DialectError::EmptyIdentifier));
            assert!(error(d.quote_ident("a\0")).contains(r#""a\0" contains U+0000"#));
        }
        assert!(PG.quote_ident(&"a".repeat(63)).is_ok());
        let err = error(PG.quote_ident(&"é".repeat(32)));
        assert!(err.contains("is 64 bytes long, over the limit of 63 bytes"));
        let err = error(MY.quote_ident(&"é".repeat(65)));
        assert!(err.contains("is 65 characters long, over the limit of 64"));
        assert!(MY.quote_ident(&"é".repeat(64)).is_ok());
        assert!(error(MY.quote_ident("a ")).contains("ends with a space"));
        check(PG.quote_ident("a "), r#""a ""#);
        assert!(MY.quote_ident("a😀").is_err() && PG.quote_ident("a😀").is_ok());
    }

    #[test]
    fn table_names_split_on_first_dot() {
        both(|d| d.quote_table("s.t"), r#""s"."t""#, "`s`.`t`");
        both(|d| d.quote_table("a.b.c"), r#""a"."b.c""#, "`a`.`b.c`");
        check(PG.quote_table(r#"t".x"#), r#""t"""."x""#);
        assert!(PG.quote_table(".t").is_err() && MY.quote_table("s.").is_err());
    }

    #[test]
    fn type_mapping() {
        let expected = [
            (T::Int, "INTEGER", "INT"),
            (T::Long, "BIGINT", "BIGINT"),
            (T::Float, "REAL", "FLOAT"),
            (T::Double, "DOUBLE PRECISION", "DOUBLE"),
            (T::BigDecimal, "NUMERIC", "DECIMAL(65,30)"),
            (T::Boolean, "BOOLEAN", "BOOLEAN"),
            (T::Timestamp, "TIMESTAMPTZ", "DATETIME(3)"),
            (T::String, "TEXT", "TEXT"),
            (T::Json, "JSONB", "JSON"),
            (T::Bytes, "BYTEA", "LONGBLOB"),
        ];
        for (ty, pg, my) in expected {
            both(|d| d.column_type(&col("c", ty), false), pg, my);
        }
        let key = |ty| move |d: Dialect| d.column_type(&col("k", ty), true);
        both(key(T::String), "TEXT", "VARCHAR(255)");
        both(key(T::Bytes), "BYTEA", "VARBINARY(255)");
        both(key(T::Long), "BIGINT", "BIGINT");
        let multi = Column {
            multi_value: true,
            ..col("m", T::Int)
        };
        both(|d| d.column_type(&multi, false), "INTEGER[]", "JSON");
        let tags = Column {
            ty: T::String,
            ..multi
        };
        both(|d| d.column_type(&tags, false), "TEXT[]", "JSON");
        check(PG.column_type(&tags, true), "TEXT[]");
        let err = error(MY.column_type(&multi, true));
        assert!(
            err.contains(r#""m" is JSON or multi-value, not valid as a MySQL key"#),
            "{err}"
        );
        assert!(MY.column_type(&col("j", T::Json), true).is_err());
    }

    #[test]
    fn create_table_and_add_column() {
        let ts = Column {
            nullable: false,
            ..col("ts", T::Timestamp)
        };
        let cols = [col("id", T::Long), ts, col("name", T::String)];
        let want = r#"CREATE TABLE IF NOT EXISTS "s"."events" ("id" BIGINT NOT NULL, "ts" TIMESTAMPTZ NOT NULL, "name" TEXT NOT NULL, PRIMARY KEY ("id", "name"))"#;
        check(PG.create_table("s.events", &cols, &["id", "name"]), want);
        let want = "CREATE TABLE IF NOT EXISTS `events` (`id` BIGINT, `ts` DATETIME(3) NOT NULL, `name` VARCHAR(255) NOT NULL, PRIMARY KEY (`name`))";
        check(MY.create_table("events", &cols, &["name"]), want);
        let want = r#"CREATE TABLE IF NOT EXISTS "t" ("id" BIGINT)"#;
        check(PG.create_table("t", &cols[..1], &[]), want);
        let err = error(PG.create_table("t", &cols, &["nope"]));
        assert!(err.contains(r#""nope" is not among the columns [id, ts, name]"#));
        assert_eq!(PG.create_table("t", &[], &[]), Err(DialectError::NoColumns));
        let pg = r#"ALTER TABLE "t" ADD COLUMN "ts" TIMESTAMPTZ"#;
        let my = "ALTER TABLE `t` ADD COLUMN `ts` DATETIME(3)";
        both(|d| d.add_column("t", &ts), pg, my);
        check(
            MY.add_column("t", &cols[2]),
            "ALTER TABLE `t` ADD COLUMN `name` TEXT",
        );
    }

    #[test]
    fn insert_and_upsert() {
        let cols = ["id", "a", "b"];
        let want = r#"INSERT INTO "t" ("id", "a", "b") VALUES ($1, $2, $3), ($4, $5, $6)"#;
        check(PG.insert_values("t", &cols, 2, Insert, &[]), want);
        let want = r#"INSERT INTO "t" ("id", "a", "b") VALUES ($1, $2, $3) ON CONFLICT ("id") DO UPDATE SET "a" = EXCLUDED."a", "b" = EXCLUDED."b""#;
        check(PG.insert_values("t", &cols, 1, Upsert, &["id"]), want);
        let want = "INSERT INTO `t` (`id`, `a`, `b`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE `a` = VALUES(`a`), `b` = VALUES(`b`)";
        check(MY.insert_values("t", &cols, 2, Upsert, &["id"]), want);
        let keys = ["k1", "k2"];
        let want =
            r#"INSERT INTO "t" ("k1", "k2") VALUES ($1, $2) ON CONFLICT ("k1", "k2") DO NOTHING"#;
        check(PG.insert_values("t", &keys, 1, Upsert, &keys), want);
        let want = "INSERT INTO `t` (`k1`, `k2`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `k1` = `k1`";
        check(MY.insert_values("t", &keys, 1, Upsert, &keys), want);
    }

    #[test]
    fn insert_errors() {
        let cols = ["id", "a", "b"];
        let err = error(PG.insert_values("t", &cols, 1, Upsert, &[]));
        assert_eq!(
            err,
            "insert.mode=upsert needs key columns: set pk.mode and pk.fields"
        );
        assert!(error(MY.insert_values("t", &cols, 1, Upsert, &["zz"])).contains("\"zz\""));
        assert!(error(MY.insert_values("t", &cols, 1, Update, &["id"])).contains("update_row"));
        assert!(error(PG.insert_values("t", &cols, 0, Insert, &[])).contains("rows = 0"));
        assert!(error(PG.insert_values("t", &[], 1, Insert, &[])).contains("one column"));
        assert!(PG.insert_values("t", &cols, 21845, Insert, &[]).is_ok());
        let err = error(MY.insert_values("t", &cols, 21846, Insert, &[]));
        let want = "21846 rows x 3 values = 65538 placeholders exceeds the limit of 65535";
        assert!(err.starts_with(want) && err.ends_with("batch.size to at most 21845"));
    }

    #[test]
    fn update_and_delete() {
        let update = |d: Dialect| d.update_row("t", &["id", "a", "b"], &["id"]);
        let pg = r#"UPDATE "t" SET "a" = $1, "b" = $2 WHERE "id" = $3"#;
        both(update, pg, "UPDATE `t` SET `a` = ?, `b` = ? WHERE `id` = ?");
        let want = r#"UPDATE "t" SET "a" = $1 WHERE "k1" = $2 AND "k2" = $3"#;
        check(PG.update_row("t", &["a", "k1", "k2"], &["k1", "k2"]), want);
        assert!(error(PG.update_row("t", &["a"], &[])).contains("UPDATE needs key columns"));
        assert!(error(PG.update_row("t", &["id"], &["id"])).contains("nothing to set"));
        let want = r#"DELETE FROM "t" WHERE "id" IN ($1, $2, $3)"#;
        check(PG.delete_rows("t", &["id"], 3), want);
        let delete = |d: Dialect| d.delete_rows("t", &["a", "b"], 2);
        let pg = r#"DELETE FROM "t" WHERE ("a", "b") IN (($1, $2), ($3, $4))"#;
        let my = "DELETE FROM `t` WHERE (`a`, `b`) IN ((?, ?), (?, ?))";
        both(delete, pg, my);
        assert!(error(MY.delete_rows("t", &[], 2)).contains("DELETE needs key columns"));
        assert!(error(MY.delete_rows("t", &["a"], 0)).contains("rows = 0"));
        assert!(error(MY.delete_rows("t", &["a"], 65536)).contains("65536 placeholders"));
    }

    #[test]
    fn watermark_statements() {
        let pg = PG.watermark_ddl();
        let want = r#"CREATE TABLE IF NOT EXISTS "gamay_connect_offsets" ("connector" VARCHAR(255) NOT NULL, "source_table" VARCHAR(255) NOT NULL, "segment" VARCHAR(255) NOT NULL, "row_count" BIGINT NOT NULL, "exported_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY ("connector", "source_table", "segment"))"#;
        assert_eq!(pg, want);
        let my = MY.watermark_ddl();
        assert!(my.contains("`exported_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"));
        assert!(my.ends_with("PRIMARY KEY (`connector`, `source_table`, `segment`))"));
        let want = r#"INSERT INTO "gamay_connect_offsets" ("connector", "source_table", "segment", "row_count") VALUES ($1, $2, $3, $4)"#;
        assert_eq!(PG.watermark_insert(), want);
        let want =
            "SELECT `source_table`, `segment`, `row_count` FROM `gamay_connect_offsets` WHERE `connector` = ?";
        assert_eq!(MY.watermark_select(), want);
    }
}
