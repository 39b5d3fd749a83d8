//! The semantic layer: what a schema's tables mean in business words (metrics, dimensions,
//! values, join paths, synonyms). One TOML file per schema; derived from the catalog when
//! there is none, and completed from it (low-cardinality values) when there is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// File name of a schema's semantic layer, inside the schema's folder.
pub const FILE_NAME: &str = "_semantic.toml";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// One line about the dataset, for LLM prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tables: BTreeMap<String, TableDef>,
    /// Many-to-one join paths: `"orders.user_id -> users.user_id"`.
    #[serde(default)]
    pub joins: Vec<String>,
    /// Things that are counted or listed but have no table of their own (a card id).
    #[serde(default)]
    pub entities: BTreeMap<String, EntityDef>,
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricDef>,
    /// Numeric columns a question may aggregate ("average amount").
    #[serde(default)]
    pub measures: BTreeMap<String, MeasureDef>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, DimensionDef>,
    #[serde(default)]
    pub values: BTreeMap<String, ValueDef>,
    /// Verbs that pick the time column ("registered" → `users.registered_at`).
    #[serde(default)]
    pub times: BTreeMap<String, TimeDef>,
    /// Named groups of entities ("repeat customers": ≥ 2 non-cancelled orders).
    #[serde(default)]
    pub segments: BTreeMap<String, SegmentDef>,
    /// A/B experiments: a table with one row per unit and a variant column.
    #[serde(default)]
    pub experiments: BTreeMap<String, ExperimentDef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentDef {
    pub table: String,
    /// The variant column, qualified.
    pub variant: String,
    pub control: String,
    pub treatment: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// The column "when" refers to; may name a column of a joined table (`orders.created_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Primary key: counted under joins that multiply rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What a row is called in answers (`name`, `title`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The column "sum"/"average" of this table means (`amount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityDef {
    pub table: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agg {
    Sum,
    Count,
    CountDistinct,
    Avg,
    Min,
    Max,
    Median,
}

impl Agg {
    pub fn apply(self, column: &str) -> String {
        match self {
            Agg::Sum => format!("SUM({column})"),
            Agg::Count => "COUNT(*)".to_string(),
            Agg::CountDistinct => format!("COUNT(DISTINCT {column})"),
            Agg::Avg => format!("AVG({column})"),
            Agg::Min => format!("MIN({column})"),
            Agg::Max => format!("MAX({column})"),
            // Runs on DataFusion and PostgreSQL alike; `median()` is DataFusion-only.
            Agg::Median => format!("percentile_cont(0.5) WITHIN GROUP (ORDER BY {column})"),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    /// The table the metric's rows come from.
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Agg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A complete aggregate expression, when `agg`/`column` cannot say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// A duration metric: `[start, end]` timestamp columns, averaged in `unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<[String; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Rows the metric is defined over (`transactions.status = 'approved'`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Overrides the table's time column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureDef {
    pub column: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agg: Option<Agg>,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionDef {
    pub column: String,
    /// The Russian label column, used for Russian questions (`category_ru`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_ru: Option<String>,
    /// Group by this key too when labels are not unique (merchant names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// How to bucket a timestamp column instead of grouping by it.
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A condition, when the value is not one column equal to one string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The time column that applies when this value is mentioned ("completed" → finished_at).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

impl ValueDef {
    pub fn sql(&self) -> Option<String> {
        if let Some(c) = &self.condition {
            return Some(c.clone());
        }
        Some(format!(
            "{} = {}",
            self.column.as_ref()?,
            quote(self.value.as_ref()?)
        ))
    }

    /// The table a condition is on, from its first qualified column.
    pub fn table(&self) -> Option<String> {
        let text = self.column.as_ref().or(self.condition.as_ref())?;
        tables_in(text).into_iter().next()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeDef {
    pub column: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    /// A table with a key or an entity name.
    pub entity: String,
    pub metric: String,
    /// `>`, `>=`, `<`, `<=` or `=`.
    pub op: String,
    pub value: f64,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

/// A parsed many-to-one join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub from_table: String,
    pub from_column: String,
    pub to_table: String,
    pub to_column: String,
}

/// SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `table` of every `table.column` reference in an expression, in order, deduplicated.
pub fn tables_in(expr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '\'' {
            in_string = !in_string;
            i += 1;
            continue;
        }
        if !in_string
            && (c.is_alphabetic() || c == '_')
            && (i == 0
                || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == '.'))
        {
            let start = i;
            while i < bytes.len() && (bytes[i].is_alphanumeric() || bytes[i] == '_') {
                i += 1;
            }
            if i + 1 < bytes.len()
                && bytes[i] == '.'
                && (bytes[i + 1].is_alphabetic() || bytes[i + 1] == '_')
            {
                let name: String = bytes[start..i].iter().collect();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            continue;
        }
        i += 1;
    }
    out
}

impl Layer {
    pub fn from_toml(text: &str, origin: &str) -> Result<Layer> {
        let layer: Layer = toml::from_str(text).map_err(|e| Error::Semantic {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        layer.parsed_joins().map_err(|message| Error::Semantic {
            origin: origin.to_string(),
            message,
        })?;
        Ok(layer)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a layer always serialises")
    }

    pub fn parsed_joins(&self) -> std::result::Result<Vec<Join>, String> {
        self.joins
            .iter()
            .map(|j| {
                let (l, r) = j
                    .split_once("->")
                    .ok_or_else(|| format!("join {j:?} must read \"a.col -> b.col\""))?;
                let split = |s: &str| {
                    s.trim()
                        .split_once('.')
                        .map(|(t, c)| (t.trim().to_string(), c.trim().to_string()))
                        .ok_or_else(|| format!("join side {s:?} must be table.column"))
                };
                let (ft, fc) = split(l)?;
                let (tt, tc) = split(r)?;
                Ok(Join {
                    from_table: ft,
                    from_column: fc,
                    to_table: tt,
                    to_column: tc,
                })
            })
            .collect()
    }

    /// The time column of `table`, qualified.
    pub fn time_column(&self, table: &str) -> Option<String> {
        let t = self.tables.get(table)?.time.as_ref()?;
        Some(qualify(table, t))
    }

    /// Adds what the catalog shows and the file does not say: tables, joins by `<x>_id`
    /// naming, measures, and low-cardinality values for value linking.
    pub fn complete_from(&mut self, derived: Layer) {
        for (name, t) in derived.tables {
            self.tables.entry(name).or_insert(t);
        }
        if self.joins.is_empty() {
            self.joins = derived.joins;
        }
        for (name, m) in derived.measures {
            let taken = self.measures.values().any(|x| x.column == m.column);
            if !taken {
                self.measures.entry(name).or_insert(m);
            }
        }
        for (name, d) in derived.dimensions {
            let taken = self
                .dimensions
                .values()
                .any(|x| x.column == d.column || x.column_ru.as_deref() == Some(&d.column));
            if !taken {
                self.dimensions.entry(name).or_insert(d);
            }
        }
        for (name, v) in derived.values {
            let taken = self.values.values().any(|x| {
                x.column == v.column
                    && x.value.as_deref().map(str::to_lowercase)
                        == v.value.as_deref().map(str::to_lowercase)
            });
            if !taken {
                self.values.entry(name).or_insert(v);
            }
        }
        for (name, e) in derived.experiments {
            self.experiments.entry(name).or_insert(e);
        }
        for (name, t) in derived.times {
            let taken = self.times.values().any(|x| x.column == t.column);
            if !taken {
                self.times.entry(name).or_insert(t);
            }
        }
    }
}

/// `table.column` unless `column` is already qualified.
pub fn qualify(table: &str, column: &str) -> String {
    if column.contains('.') || column.contains('(') {
        column.to_string()
    } else {
        format!("{table}.{column}")
    }
}
