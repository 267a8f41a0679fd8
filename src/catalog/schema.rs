//! Pinot's schema: the columns of a table, their types and roles.
//!
//! The JSON shape is Pinot's (`dimensionFieldSpecs`, `metricFieldSpecs`,
//! `dateTimeFieldSpecs`, `primaryKeyColumns`), accepted verbatim. [`Schema::validate`]
//! checks it on its own; how a table config relates to it is checked in
//! `validate.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::datetime::{DateTimeFormat, Granularity};
use super::names::{self, MAX_COLUMNS};
use super::{Error, Problem};

/// A column's stored type, as Pinot names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Int,
    Long,
    Float,
    Double,
    BigDecimal,
    Boolean,
    Timestamp,
    String,
    Json,
    Bytes,
}

const DATA_TYPE_NAMES: [&str; 10] = [
    "INT",
    "LONG",
    "FLOAT",
    "DOUBLE",
    "BIG_DECIMAL",
    "BOOLEAN",
    "TIMESTAMP",
    "STRING",
    "JSON",
    "BYTES",
];

impl DataType {
    pub const ALL: [DataType; 10] = [
        DataType::Int,
        DataType::Long,
        DataType::Float,
        DataType::Double,
        DataType::BigDecimal,
        DataType::Boolean,
        DataType::Timestamp,
        DataType::String,
        DataType::Json,
        DataType::Bytes,
    ];

    pub fn name(self) -> &'static str {
        DATA_TYPE_NAMES[self as usize]
    }

    pub fn parse(text: &str) -> Result<DataType, String> {
        let upper = text.trim().to_ascii_uppercase();
        for data_type in DataType::ALL {
            if data_type.name() == upper {
                return Ok(data_type);
            }
        }
        Err(format!(
            "unknown dataType `{text}`{}; expected one of {}",
            names::did_you_mean(&upper, DATA_TYPE_NAMES),
            DATA_TYPE_NAMES.join(", ")
        ))
    }

    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            DataType::Int
                | DataType::Long
                | DataType::Float
                | DataType::Double
                | DataType::BigDecimal
        )
    }

    pub fn is_integral(self) -> bool {
        matches!(self, DataType::Int | DataType::Long | DataType::Timestamp)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for DataType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DataType::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRole {
    Dimension,
    Metric,
    DateTime,
}

impl FieldRole {
    fn list_name(self) -> &'static str {
        match self {
            FieldRole::Dimension => "dimensionFieldSpecs",
            FieldRole::Metric => "metricFieldSpecs",
            FieldRole::DateTime => "dateTimeFieldSpecs",
        }
    }
}

fn default_true() -> bool {
    true
}

/// A dimension or metric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    pub name: String,
    pub data_type: DataType,
    #[serde(default = "default_true")]
    pub single_value_field: bool,
    #[serde(default)]
    pub default_null_value: Option<Value>,
    #[serde(default)]
    pub not_null: bool,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub max_length_exceed_strategy: Option<String>,
    /// Pinot's legacy per-field transform (`"transformFunction": "toEpochDays(ts)"`).
    #[serde(default)]
    pub transform_function: Option<String>,
}

/// A date-time column: a [`FieldSpec`] plus how its values are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeFieldSpec {
    pub name: String,
    pub data_type: DataType,
    #[serde(default = "default_true")]
    pub single_value_field: bool,
    #[serde(default)]
    pub default_null_value: Option<Value>,
    #[serde(default)]
    pub not_null: bool,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub max_length_exceed_strategy: Option<String>,
    #[serde(default)]
    pub transform_function: Option<String>,
    pub format: String,
    pub granularity: String,
}

/// Pinot's schema document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    pub schema_name: String,
    #[serde(default)]
    pub enable_column_based_null_handling: bool,
    #[serde(default)]
    pub dimension_field_specs: Vec<FieldSpec>,
    #[serde(default)]
    pub metric_field_specs: Vec<FieldSpec>,
    #[serde(default)]
    pub date_time_field_specs: Vec<DateTimeFieldSpec>,
    #[serde(default)]
    pub primary_key_columns: Vec<String>,
}

/// A column of a schema seen uniformly, whatever list it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Column<'a> {
    pub name: &'a str,
    pub data_type: DataType,
    pub role: FieldRole,
    pub single_value: bool,
    pub not_null: bool,
    pub default_null_value: Option<&'a Value>,
    pub format: Option<&'a str>,
}

impl Schema {
    /// Every column, dimensions first, then metrics, then date-times.
    pub fn columns(&self) -> impl Iterator<Item = Column<'_>> {
        let dims = self
            .dimension_field_specs
            .iter()
            .map(|spec| (spec, FieldRole::Dimension));
        let metrics = self
            .metric_field_specs
            .iter()
            .map(|spec| (spec, FieldRole::Metric));
        let plain = dims.chain(metrics).map(|(spec, role)| Column {
            name: &spec.name,
            data_type: spec.data_type,
            role,
            single_value: spec.single_value_field,
            not_null: spec.not_null,
            default_null_value: spec.default_null_value.as_ref(),
            format: None,
        });
        let times = self.date_time_field_specs.iter().map(|spec| Column {
            name: &spec.name,
            data_type: spec.data_type,
            role: FieldRole::DateTime,
            single_value: spec.single_value_field,
            not_null: spec.not_null,
            default_null_value: spec.default_null_value.as_ref(),
            format: Some(&spec.format),
        });
        plain.chain(times)
    }

    pub fn column(&self, name: &str) -> Option<Column<'_>> {
        self.columns().find(|column| column.name == name)
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.column(name).is_some()
    }

    pub fn column_names(&self) -> Vec<&str> {
        self.columns().map(|column| column.name).collect()
    }

    /// Checks the schema on its own, reporting every problem found.
    pub fn validate(&self) -> Result<(), Error> {
        let what = format!("schema `{}`", self.schema_name);
        let mut problems = Vec::new();
        let mut add = |field: String, message: String| problems.push(Problem { field, message });

        if let Err(message) = names::check_table_name(&self.schema_name) {
            add("schemaName".into(), format!("schema name {message}"));
        }

        let total = self.dimension_field_specs.len()
            + self.metric_field_specs.len()
            + self.date_time_field_specs.len();
        if total == 0 {
            add(
                "dimensionFieldSpecs".into(),
                "the schema has no columns; declare at least one in dimensionFieldSpecs, metricFieldSpecs or dateTimeFieldSpecs".into(),
            );
        }
        if total > MAX_COLUMNS {
            add(
                "dimensionFieldSpecs".into(),
                format!("the schema has {total} columns; at most {MAX_COLUMNS} are allowed"),
            );
        }

        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        let lists = [
            (
                FieldRole::Dimension,
                self.dimension_field_specs
                    .iter()
                    .map(spec_view)
                    .collect::<Vec<_>>(),
            ),
            (
                FieldRole::Metric,
                self.metric_field_specs.iter().map(spec_view).collect(),
            ),
            (
                FieldRole::DateTime,
                self.date_time_field_specs.iter().map(time_view).collect(),
            ),
        ];
        for (role, specs) in &lists {
            for (index, spec) in specs.iter().enumerate() {
                let field = format!("{}[{index}]", role.list_name());
                if let Err(message) = names::check_column_name(spec.name) {
                    add(format!("{field}.name"), message);
                }
                if let Some(first) = seen.get(spec.name) {
                    add(
                        format!("{field}.name"),
                        format!("column `{}` is declared twice (first at {first}); column names must be unique", spec.name),
                    );
                } else {
                    seen.insert(spec.name, field.clone());
                }
                for (sub, message) in check_spec(*role, spec) {
                    add(format!("{field}.{sub}"), message);
                }
            }
        }

        let mut pk_seen = BTreeSet::new();
        for (index, key) in self.primary_key_columns.iter().enumerate() {
            let field = format!("primaryKeyColumns[{index}]");
            match self.column(key) {
                None => add(
                    field,
                    format!(
                        "primary key column `{key}` is not a column of the schema{}",
                        names::did_you_mean(key, self.column_names())
                    ),
                ),
                Some(column) if !column.single_value => add(
                    field,
                    format!("primary key column `{key}` is multi-valued; primary keys must be single-valued"),
                ),
                Some(_) => {}
            }
            if !pk_seen.insert(key.as_str()) {
                add(
                    format!("primaryKeyColumns[{index}]"),
                    format!("`{key}` is listed twice"),
                );
            }
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid { what, problems })
        }
    }

    /// Describes why replacing `self` with `new` would break data already
    /// stored under `self`: a column removed, or its type or arity changed.
    pub fn incompatible_changes(&self, new: &Schema) -> Vec<String> {
        let mut changes = Vec::new();
        for old in self.columns() {
            match new.column(old.name) {
                None => changes.push(format!("column `{}` is removed", old.name)),
                Some(column) => {
                    if column.data_type != old.data_type {
                        changes.push(format!(
                            "column `{}` changes dataType from {} to {}",
                            old.name, old.data_type, column.data_type
                        ));
                    }
                    if column.single_value != old.single_value {
                        changes.push(format!(
                            "column `{}` changes singleValueField from {} to {}",
                            old.name, old.single_value, column.single_value
                        ));
                    }
                }
            }
        }
        changes
    }
}

/// The parts of a field spec that validation looks at.
struct SpecView<'a> {
    name: &'a str,
    data_type: DataType,
    single_value: bool,
    default_null_value: Option<&'a Value>,
    max_length_exceed_strategy: Option<&'a str>,
    format: Option<&'a str>,
    granularity: Option<&'a str>,
}

fn spec_view(spec: &FieldSpec) -> SpecView<'_> {
    SpecView {
        name: &spec.name,
        data_type: spec.data_type,
        single_value: spec.single_value_field,
        default_null_value: spec.default_null_value.as_ref(),
        max_length_exceed_strategy: spec.max_length_exceed_strategy.as_deref(),
        format: None,
        granularity: None,
    }
}

fn time_view(spec: &DateTimeFieldSpec) -> SpecView<'_> {
    SpecView {
        name: &spec.name,
        data_type: spec.data_type,
        single_value: spec.single_value_field,
        default_null_value: spec.default_null_value.as_ref(),
        max_length_exceed_strategy: spec.max_length_exceed_strategy.as_deref(),
        format: Some(&spec.format),
        granularity: Some(&spec.granularity),
    }
}

const EXCEED_STRATEGIES: [&str; 4] = [
    "TRIM_LENGTH",
    "ERROR",
    "SUBSTITUTE_DEFAULT_VALUE",
    "NO_ACTION",
];

fn check_spec(role: FieldRole, spec: &SpecView<'_>) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let data_type = spec.data_type;
    match role {
        FieldRole::Metric => {
            if !(data_type.is_numeric() || data_type == DataType::Bytes) {
                problems.push((
                    "dataType",
                    format!("metric `{}` has dataType {data_type}; metrics must be INT, LONG, FLOAT, DOUBLE, BIG_DECIMAL or BYTES (declare it as a dimension instead)", spec.name),
                ));
            }
            if !spec.single_value {
                problems.push((
                    "singleValueField",
                    format!(
                        "metric `{}` is multi-valued; only dimensions may be multi-valued",
                        spec.name
                    ),
                ));
            }
        }
        FieldRole::Dimension => {
            if data_type == DataType::BigDecimal {
                problems.push(("dataType", format!("dimension `{}` has dataType BIG_DECIMAL, which Pinot allows only for metrics", spec.name)));
            }
        }
        FieldRole::DateTime => {
            if !spec.single_value {
                problems.push((
                    "singleValueField",
                    format!(
                        "date-time column `{}` is multi-valued; time columns must be single-valued",
                        spec.name
                    ),
                ));
            }
            if let Some(format) = spec.format {
                match DateTimeFormat::parse(format) {
                    Err(message) => problems.push(("format", message)),
                    Ok(parsed) => {
                        if let Some(message) = format_type_mismatch(spec.name, data_type, &parsed) {
                            problems.push(("dataType", message));
                        }
                    }
                }
            }
            if let Some(granularity) = spec.granularity {
                if let Err(message) = Granularity::parse(granularity) {
                    problems.push(("granularity", message));
                }
            }
        }
    }
    if let Some(value) = spec.default_null_value {
        if let Err(message) = check_default_value(data_type, value) {
            problems.push((
                "defaultNullValue",
                format!("column `{}`: {message}", spec.name),
            ));
        }
    }
    if let Some(strategy) = spec.max_length_exceed_strategy {
        if !EXCEED_STRATEGIES.contains(&strategy) {
            problems.push((
                "maxLengthExceedStrategy",
                format!(
                    "unknown strategy `{strategy}`; expected one of {}",
                    EXCEED_STRATEGIES.join(", ")
                ),
            ));
        }
    }
    problems
}

fn format_type_mismatch(
    name: &str,
    data_type: DataType,
    format: &DateTimeFormat,
) -> Option<String> {
    let fits = match format {
        DateTimeFormat::Epoch { .. } => matches!(
            data_type,
            DataType::Int | DataType::Long | DataType::Timestamp
        ),
        DateTimeFormat::SimpleDate { .. } => {
            matches!(data_type, DataType::String | DataType::Int | DataType::Long)
        }
        DateTimeFormat::Timestamp => matches!(data_type, DataType::Timestamp | DataType::Long),
    };
    if fits {
        return None;
    }
    let expected = match format {
        DateTimeFormat::Epoch { .. } => "INT, LONG or TIMESTAMP",
        DateTimeFormat::SimpleDate { .. } => {
            "STRING (or INT/LONG for all-digit patterns such as yyyyMMdd)"
        }
        DateTimeFormat::Timestamp => "TIMESTAMP or LONG",
    };
    Some(format!("date-time column `{name}` has dataType {data_type}, which does not fit its format; expected {expected}"))
}

/// Checks that a `defaultNullValue` can be stored in a column of `data_type`.
pub fn check_default_value(data_type: DataType, value: &Value) -> Result<(), String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => return Err("defaultNullValue must not be null".into()),
        _ => return Err(format!("defaultNullValue must be a scalar, found {value}")),
    };
    let ok = match data_type {
        DataType::Int => text.parse::<i32>().is_ok(),
        DataType::Long | DataType::Timestamp => text.parse::<i64>().is_ok(),
        DataType::Float | DataType::Double | DataType::BigDecimal => {
            text.parse::<f64>().is_ok() || matches!(text.as_str(), "Infinity" | "-Infinity" | "NaN")
        }
        DataType::Boolean => matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "0" | "1"
        ),
        DataType::String | DataType::Json => true,
        DataType::Bytes => text.len() % 2 == 0 && text.chars().all(|c| c.is_ascii_hexdigit()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{text}` is not a valid {data_type} value"))
    }
}
