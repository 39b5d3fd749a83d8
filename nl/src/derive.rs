//! A semantic layer guessed from the catalog alone: names, types, `<x>_id` joins and the
//! distinct values of low-cardinality text columns.

use crate::semantic::{
    DimensionDef, ExperimentDef, Layer, MeasureDef, TableDef, TimeDef, ValueDef,
};

/// What the engine tells the translator about one schema.
#[derive(Debug, Clone, Default)]
pub struct SchemaInfo {
    pub schema: String,
    pub tables: Vec<TableInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    pub rows: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    pub kind: ColumnKind,
    /// SQL type as the catalog prints it, for prompts.
    pub sql_type: String,
    /// Distinct values when the column is text with few of them.
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    Float,
    Decimal,
    Bool,
    Timestamp,
    Date,
    Other,
}

impl ColumnKind {
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ColumnKind::Integer | ColumnKind::Float | ColumnKind::Decimal
        )
    }
}

/// `orders` → `order`, `categories` → `category`: good enough for English table names.
pub fn singular(name: &str) -> String {
    if let Some(s) = name.strip_suffix("ies") {
        format!("{s}y")
    } else if let Some(s) = name.strip_suffix("sses") {
        format!("{s}ss")
    } else if let Some(s) = name.strip_suffix('s').filter(|_| !name.ends_with("ss")) {
        s.to_string()
    } else {
        name.to_string()
    }
}

fn words(name: &str) -> String {
    name.replace('_', " ")
}

pub fn derive(info: &SchemaInfo) -> Layer {
    let mut layer = Layer::default();
    let key_of = |t: &TableInfo| -> Option<String> {
        let single = format!("{}_id", singular(&t.name));
        t.columns
            .iter()
            .find(|c| c.name == single)
            .or_else(|| t.columns.iter().find(|c| c.name == "id"))
            .map(|c| c.name.clone())
    };
    for t in &info.tables {
        let key = key_of(t);
        let label = ["name", "title", "full_name", "label", "lemma", "code"]
            .iter()
            .find(|l| t.columns.iter().any(|c| c.name == **l))
            .map(|s| s.to_string());
        let times: Vec<&ColumnInfo> = t
            .columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Timestamp | ColumnKind::Date))
            .collect();
        let time = times
            .iter()
            .find(|c| {
                [
                    "created_at",
                    "ts",
                    "timestamp",
                    "time",
                    "event_time",
                    "date",
                ]
                .contains(&c.name.as_str())
            })
            .or(times.first())
            .map(|c| c.name.clone());
        let measure = t
            .columns
            .iter()
            .find(|c| ["amount", "value", "revenue", "price", "total"].contains(&c.name.as_str()))
            .or_else(|| t.columns.iter().find(|c| c.kind == ColumnKind::Decimal))
            .map(|c| c.name.clone());
        let mut synonyms = vec![words(&t.name)];
        if singular(&t.name) != t.name {
            synonyms.push(words(&singular(&t.name)));
        }
        layer.tables.insert(
            t.name.clone(),
            TableDef {
                synonyms,
                time,
                key: key.clone(),
                label: label.clone(),
                measure,
                description: None,
            },
        );
        for c in &t.columns {
            let qualified = format!("{}.{}", t.name, c.name);
            let is_key = c.name.ends_with("_id") || c.name == "id";
            if c.kind.is_numeric() && !is_key {
                layer.measures.insert(
                    format!("{}_{}", t.name, c.name),
                    MeasureDef {
                        column: qualified.clone(),
                        agg: None,
                        synonyms: vec![words(&c.name)],
                    },
                );
            }
            if matches!(c.kind, ColumnKind::Timestamp | ColumnKind::Date) {
                let base = c
                    .name
                    .trim_end_matches("_at")
                    .trim_end_matches("_date")
                    .trim_end_matches("_ts");
                layer.times.insert(
                    format!("{}_{}", t.name, c.name),
                    TimeDef {
                        column: qualified.clone(),
                        synonyms: vec![words(base)],
                    },
                );
            }
            if c.kind == ColumnKind::Bool {
                layer.values.insert(
                    format!("{}_{}", t.name, c.name),
                    ValueDef {
                        condition: Some(qualified.clone()),
                        synonyms: vec![words(c.name.trim_start_matches("is_"))],
                        ..Default::default()
                    },
                );
            }
            if let Some(values) = &c.values {
                if Some(&c.name) != label.as_ref() || key.is_none() {
                    layer.dimensions.insert(
                        format!("{}_{}", t.name, c.name),
                        DimensionDef {
                            column: qualified.clone(),
                            synonyms: vec![words(&c.name)],
                            ..Default::default()
                        },
                    );
                }
                for v in values {
                    layer.values.insert(
                        format!("{}.{}={}", t.name, c.name, v),
                        ValueDef {
                            column: Some(qualified.clone()),
                            value: Some(v.clone()),
                            synonyms: vec![v.clone()],
                            ..Default::default()
                        },
                    );
                }
            }
        }
    }
    // A/B experiments: a two-valued column named like a variant.
    const VARIANT: &[&str] = &[
        "variant",
        "group",
        "arm",
        "ab_group",
        "test_group",
        "experiment_group",
        "bucket",
        "cohort",
    ];
    const CONTROL: &[&str] = &["a", "control", "контроль", "0", "baseline", "old", "base"];
    for t in &info.tables {
        for c in &t.columns {
            let Some(values) = c.values.as_ref().filter(|v| v.len() == 2) else {
                continue;
            };
            if !VARIANT.contains(&c.name.as_str()) {
                continue;
            }
            let control_first = CONTROL.contains(&values[0].to_lowercase().as_str())
                || !CONTROL.contains(&values[1].to_lowercase().as_str());
            let (control, treatment) = if control_first {
                (values[0].clone(), values[1].clone())
            } else {
                (values[1].clone(), values[0].clone())
            };
            layer.experiments.insert(
                t.name.clone(),
                ExperimentDef {
                    table: t.name.clone(),
                    variant: format!("{}.{}", t.name, c.name),
                    control,
                    treatment,
                    synonyms: vec![words(&t.name)],
                },
            );
        }
    }
    // Joins by naming: `orders.user_id -> users.user_id` when `users` is keyed by `user_id`.
    for t in &info.tables {
        for c in t.columns.iter().filter(|c| c.name.ends_with("_id")) {
            for other in info.tables.iter().filter(|o| o.name != t.name) {
                if key_of(other).as_deref() == Some(c.name.as_str())
                    && key_of(t).as_deref() != Some(c.name.as_str())
                {
                    layer.joins.push(format!(
                        "{}.{} -> {}.{}",
                        t.name, c.name, other.name, c.name
                    ));
                }
            }
        }
    }
    layer
}
