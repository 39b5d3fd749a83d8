//! PostgreSQL-style session settings (`SET`, `SHOW`, `current_setting`, `version()`) and
//! transaction-state bookkeeping: what PostgreSQL clients read and set on every connection.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// The PostgreSQL release whose behaviour Abacus reports.
pub const PG_VERSION: &str = "16.6";
pub const PG_VERSION_NUM: &str = "160006";

fn defaults() -> BTreeMap<String, String> {
    [
        ("server_version", PG_VERSION.to_string()),
        ("server_version_num", PG_VERSION_NUM.to_string()),
        ("server_encoding", "UTF8".into()),
        ("client_encoding", "UTF8".into()),
        ("datestyle", "ISO, MDY".into()),
        ("intervalstyle", "postgres".into()),
        ("timezone", "Etc/UTC".into()),
        ("integer_datetimes", "on".into()),
        ("standard_conforming_strings", "on".into()),
        ("transaction_isolation", "read committed".into()),
        ("default_transaction_isolation", "read committed".into()),
        ("default_transaction_read_only", "off".into()),
        ("transaction_read_only", "off".into()),
        ("search_path", "\"$user\", public".into()),
        ("max_index_keys", "32".into()),
        ("max_identifier_length", "63".into()),
        ("application_name", String::new()),
        ("extra_float_digits", "1".into()),
        ("is_superuser", "on".into()),
        ("lc_collate", "C".into()),
        ("lc_ctype", "C".into()),
        ("statement_timeout", "0".into()),
        ("block_size", "8192".into()),
        ("session_authorization", "abacus".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Settings of one session; names are case-insensitive.
#[derive(Debug)]
pub struct Settings {
    values: RwLock<BTreeMap<String, String>>,
    /// Changes of settings PostgreSQL reports to the client (ParameterStatus), not yet sent.
    reported: parking_lot::Mutex<Vec<(String, String)>>,
}

/// The settings PostgreSQL reports with ParameterStatus when they change, by the name it
/// reports them under.
const REPORTED: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "standard_conforming_strings",
    "default_transaction_read_only",
];

impl Default for Settings {
    fn default() -> Self {
        Self {
            values: RwLock::new(defaults()),
            reported: Default::default(),
        }
    }
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<String> {
        self.values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// Read-only settings (the version) cannot change; DateStyle must stay ISO (pgjdbc
    /// closes the connection otherwise).
    pub fn set(&self, name: &str, value: &str) -> Result<(), String> {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "server_version"
            | "server_version_num"
            | "server_encoding"
            | "integer_datetimes"
            | "max_index_keys"
            | "block_size"
            | "lc_collate"
            | "lc_ctype"
            | "is_superuser"
            | "session_authorization" => {
                return Err(format!("parameter \"{name}\" cannot be changed"))
            }
            "statement_timeout" => {
                crate::limits::parse_duration(value)?;
            }
            "datestyle" if !value.to_ascii_uppercase().starts_with("ISO") => {
                return Err("only ISO date styles are supported".into())
            }
            "client_encoding"
                if !matches!(
                    value.to_ascii_uppercase().as_str(),
                    "UTF8" | "UTF-8" | "UNICODE"
                ) =>
            {
                return Err(format!(
                    "client_encoding {value} is not supported; use UTF8"
                ))
            }
            _ => {}
        }
        if let Some(reported) = REPORTED.iter().find(|r| r.eq_ignore_ascii_case(&name)) {
            self.reported
                .lock()
                .push((reported.to_string(), value.to_string()));
        }
        self.values
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, value.to_string());
        Ok(())
    }

    /// The reported settings changed since the last call, for ParameterStatus messages.
    pub fn take_reported(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.reported.lock())
    }
}

impl Settings {
    /// Every setting and its value, by name.
    pub(crate) fn all(&self) -> Vec<(String, String)> {
        self.values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Sets a value clients may read but not `SET` (who the session acts as).
    pub(crate) fn force(&self, name: &str, value: &str) {
        self.values
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_ascii_lowercase(), value.to_string());
    }
}

/// Explicit-transaction state: statements always auto-commit, but like PostgreSQL a failed
/// statement inside BEGIN … makes the rest fail until ROLLBACK.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    #[default]
    Idle,
    Open,
    Failed,
}

#[derive(Debug, Default)]
pub struct TransactionState(pub Mutex<Transaction>);

/// `version()`: PostgreSQL-shaped, as SQLAlchemy and others parse it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Version {
    signature: Signature,
}

impl Version {
    pub fn new() -> Self {
        Self {
            signature: Signature::exact(vec![], Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for Version {
    fn name(&self) -> &str {
        "version"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(format!(
            "PostgreSQL {PG_VERSION} (Abacus {}) on {}-{}, DataFusion-based",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::ARCH,
            std::env::consts::OS
        )))))
    }
}

/// `current_setting(name [, missing_ok])` over the session's settings.
#[derive(Debug)]
pub struct CurrentSetting {
    settings: Arc<Settings>,
    signature: Signature,
}

impl PartialEq for CurrentSetting {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for CurrentSetting {}
impl std::hash::Hash for CurrentSetting {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "current_setting".hash(state)
    }
}

impl CurrentSetting {
    pub fn new(settings: Arc<Settings>) -> Self {
        Self {
            settings,
            signature: Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::Exact(vec![DataType::Utf8]),
                    datafusion::logical_expr::TypeSignature::Exact(vec![
                        DataType::Utf8,
                        DataType::Boolean,
                    ]),
                ],
                Volatility::Stable,
            ),
        }
    }
}

impl ScalarUDFImpl for CurrentSetting {
    fn name(&self) -> &str {
        "current_setting"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let names = args.args[0].clone().into_array(rows)?;
        let names = datafusion::arrow::compute::cast(&names, &DataType::Utf8)?;
        let names = names.as_any().downcast_ref::<StringArray>().expect("utf8");
        let missing_ok = match args.args.get(1) {
            Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(b)))) => *b,
            _ => false,
        };
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if names.is_null(i) {
                out.push(None);
                continue;
            }
            match self.settings.get(names.value(i)) {
                Some(v) => out.push(Some(v)),
                None if missing_ok => out.push(None),
                None => {
                    return exec_err!(
                        "unrecognized configuration parameter \"{}\"",
                        names.value(i)
                    )
                }
            }
        }
        Ok(ColumnarValue::Array(
            Arc::new(StringArray::from(out)) as ArrayRef
        ))
    }
}
