//! PostgreSQL functions clients call that DataFusion and datafusion-pg-catalog lack or get
//! wrong: privileges from the session's real rights (the crate answers true to all),
//! `set_config`, `format`, and `pg_array_has` behind `x = ANY(arr)`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::settings::Settings;
use crate::users::SessionUser;

/// `name`, `signature` and `return_type` of a UDF with a `signature` field.
macro_rules! udf_head {
    (self_name, $ret:ident) => {
        fn name(&self) -> &str {
            self.name
        }
        udf_head!(@rest $ret);
    };
    ($name:literal, $ret:ident) => {
        fn name(&self) -> &str {
            $name
        }
        udf_head!(@rest $ret);
    };
    (@rest $ret:ident) => {
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _: &[DataType]) -> Result<DataType> {
            Ok(DataType::$ret)
        }
    };
}

/// UDFs holding session handles compare and hash by their SQL name.
macro_rules! same_by_name {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                ScalarUDFImpl::name(self) == ScalarUDFImpl::name(other)
            }
        }
        impl Eq for $t {}
        impl std::hash::Hash for $t {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                ScalarUDFImpl::name(self).hash(state)
            }
        }
    };
}

type UserSlot = Arc<parking_lot::Mutex<Option<SessionUser>>>;

pub(super) fn to_strings(value: &ColumnarValue, rows: usize) -> Result<Vec<Option<String>>> {
    let array = value.to_array(rows)?;
    let text = cast(&array, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    Ok((0..rows)
        .map(|i| (!text.is_null(i)).then(|| text.value(i).to_string()))
        .collect())
}

fn rows_of(args: &ScalarFunctionArgs) -> usize {
    args.number_rows
}

/// `has_table_privilege([user,] table, privilege)` and its schema/database/column
/// siblings: READ ONLY users hold SELECT, USAGE and CONNECT; other users hold everything.
#[derive(Debug)]
pub struct HasPrivilege {
    name: &'static str,
    signature: Signature,
    user: UserSlot,
    catalog: Arc<abacus_catalog::Catalog>,
}

same_by_name!(HasPrivilege);

impl HasPrivilege {
    pub fn udf(
        name: &'static str,
        user: UserSlot,
        catalog: Arc<abacus_catalog::Catalog>,
    ) -> ScalarUDF {
        ScalarUDF::from(Self {
            name,
            signature: Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::Any(2),
                    datafusion::logical_expr::TypeSignature::Any(3),
                ],
                Volatility::Stable,
            ),
            user,
            catalog,
        })
    }

    /// Whether a user with `read_only` holds any of the comma-separated `privileges`.
    fn holds(read_only: bool, privileges: &str) -> bool {
        privileges.split(',').any(|p| {
            let p = p
                .trim()
                .trim_end_matches(" WITH GRANT OPTION")
                .to_ascii_uppercase();
            !read_only || matches!(p.as_str(), "SELECT" | "USAGE" | "CONNECT")
        })
    }
}

impl ScalarUDFImpl for HasPrivilege {
    udf_head!(self_name, Boolean);
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let n = args.args.len();
        let privileges = to_strings(&args.args[n - 1], rows)?;
        let users = if n == 3 {
            Some(to_strings(&args.args[0], rows)?)
        } else {
            None
        };
        let current = self.user.lock().clone();
        // Named users' rights, read from the catalog file once per batch, not per row.
        let stored = users
            .as_ref()
            .map(|_| self.catalog.views().users().unwrap_or_default());
        let mut out = BooleanBuilder::with_capacity(rows);
        for i in 0..rows {
            let Some(privilege) = &privileges[i] else {
                out.append_null();
                continue;
            };
            let read_only = match (users.as_ref().map(|u| &u[i]), &stored) {
                // Another user, by name: their stored rights (unknown names hold nothing,
                // except without users, when everyone connects as the owner).
                (Some(Some(name)), Some(stored))
                    if current.as_ref().is_none_or(|c| &c.name != name) =>
                {
                    match stored.get(name) {
                        Some(record) => record.read_only,
                        None if current.is_none() && stored.is_empty() => false,
                        None => {
                            out.append_value(false);
                            continue;
                        }
                    }
                }
                (Some(None), _) => {
                    out.append_null();
                    continue;
                }
                _ => current.as_ref().is_some_and(|u| u.read_only),
            };
            out.append_value(Self::holds(read_only, privilege));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `session_user` / `current_user`: who the session acts as (the crate answers a fixed
/// name).
#[derive(Debug)]
pub struct SessionUserName {
    name: &'static str,
    signature: Signature,
    settings: Arc<Settings>,
}

same_by_name!(SessionUserName);

impl SessionUserName {
    pub fn udf(name: &'static str, settings: Arc<Settings>) -> ScalarUDF {
        ScalarUDF::from(Self {
            name,
            signature: Signature::nullary(Volatility::Stable),
            settings,
        })
    }
}

impl ScalarUDFImpl for SessionUserName {
    udf_head!(self_name, Utf8);
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self
            .settings
            .get("session_authorization")
            .unwrap_or_else(|| "abacus".into());
        Ok(ColumnarValue::Scalar(
            datafusion::common::ScalarValue::Utf8(Some(name)),
        ))
    }
}

/// `set_config(name, value, is_local)`: sets a session setting, returns the new value.
#[derive(Debug)]
pub struct SetConfig {
    signature: Signature,
    settings: Arc<Settings>,
}

same_by_name!(SetConfig);

impl SetConfig {
    pub fn udf(settings: Arc<Settings>) -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(3, Volatility::Volatile),
            settings,
        })
    }
}

impl ScalarUDFImpl for SetConfig {
    udf_head!("set_config", Utf8);
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let names = to_strings(&args.args[0], rows)?;
        let values = to_strings(&args.args[1], rows)?;
        let mut out = StringBuilder::new();
        for (name, value) in names.iter().zip(&values) {
            let (Some(name), Some(value)) = (name, value) else {
                out.append_null();
                continue;
            };
            let name = name.to_ascii_lowercase();
            if let Err(e) = self.settings.set(&name, value) {
                // Settings Abacus does not know (jit, …) are accepted as PostgreSQL's
                // planner knobs would be; wrong values of known ones are errors.
                if self.settings.get(&name).is_some() {
                    return exec_err!("{e}");
                }
            }
            out.append_value(self.settings.get(&name).unwrap_or_else(|| value.clone()));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `format(fmt, args…)`: PostgreSQL's `%s`, `%I` (identifier), `%L` (literal) and `%%`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Format {
    signature: Signature,
}

impl Format {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        })
    }
}

fn quote_identifier(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

impl ScalarUDFImpl for Format {
    udf_head!("format", Utf8);
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let columns = args
            .args
            .iter()
            .map(|a| to_strings(a, rows))
            .collect::<Result<Vec<_>>>()?;
        let Some((formats, values)) = columns.split_first() else {
            return exec_err!("format() needs a format string");
        };
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let Some(format) = &formats[row] else {
                out.append_null();
                continue;
            };
            let mut text = String::new();
            let mut next = 0;
            let mut chars = format.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    text.push(c);
                    continue;
                }
                let spec = chars.next();
                if spec == Some('%') {
                    text.push('%');
                    continue;
                }
                let Some(value) = values.get(next) else {
                    return exec_err!("too few arguments for format()");
                };
                next += 1;
                let value = value[row].clone();
                match (spec, value) {
                    (Some('s'), v) => text.push_str(v.as_deref().unwrap_or("")),
                    (Some('I'), Some(v)) => text.push_str(&quote_identifier(&v)),
                    (Some('I'), None) => {
                        return exec_err!("null values cannot be formatted as an SQL identifier")
                    }
                    (Some('L'), Some(v)) => text.push_str(&format!("'{}'", v.replace('\'', "''"))),
                    (Some('L'), None) => text.push_str("NULL"),
                    (other, _) => {
                        return exec_err!(
                            "unrecognized format() type specifier \"{}\"",
                            other.map(String::from).unwrap_or_default()
                        )
                    }
                }
            }
            out.append_value(text);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `pg_array_has(arr, x)`: `x = ANY(arr)` for a list, or for PostgreSQL's text form of an
/// array (`{a,b,"c d"}`) as catalog snapshot columns hold it. Compares text forms.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgArrayHas {
    signature: Signature,
}

impl PgArrayHas {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(2, Volatility::Immutable),
        })
    }
}

/// Elements of PostgreSQL's text array form; NULL elements are `None`.
fn parse_text_array(text: &str) -> Vec<Option<String>> {
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    if inner.is_empty() {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '\\' if quoted => current.extend(chars.next()),
            ',' if !quoted => {
                let item = std::mem::take(&mut current);
                items.push((was_quoted || item != "NULL").then_some(item));
                was_quoted = false;
            }
            c => current.push(c),
        }
    }
    items.push((was_quoted || current != "NULL").then_some(current));
    items
}

impl ScalarUDFImpl for PgArrayHas {
    udf_head!("pg_array_has", Boolean);
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let haystack: ArrayRef = args.args[0].to_array(rows)?;
        let needles = to_strings(&args.args[1], rows)?;
        let lists: Vec<Option<Vec<Option<String>>>> = match haystack.data_type() {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
                let as_list = cast(
                    &haystack,
                    &DataType::List(Arc::new(
                        datafusion::arrow::datatypes::Field::new_list_field(DataType::Utf8, true),
                    )),
                )?;
                let list = as_list.as_list::<i32>();
                (0..rows)
                    .map(|i| {
                        (!list.is_null(i)).then(|| {
                            let values = list.value(i);
                            let values = values.as_string::<i32>();
                            (0..values.len())
                                .map(|j| (!values.is_null(j)).then(|| values.value(j).to_string()))
                                .collect()
                        })
                    })
                    .collect()
            }
            DataType::Null => vec![None; rows],
            _ => to_strings(&ColumnarValue::Array(haystack), rows)?
                .into_iter()
                .map(|t| t.map(|t| parse_text_array(&t)))
                .collect(),
        };
        let mut out = BooleanBuilder::with_capacity(rows);
        for (list, needle) in lists.iter().zip(&needles) {
            match (list, needle) {
                (Some(items), Some(needle)) => {
                    if items.iter().any(|i| i.as_deref() == Some(needle)) {
                        out.append_value(true);
                    } else if items.iter().any(Option::is_none) {
                        out.append_null();
                    } else {
                        out.append_value(false);
                    }
                }
                _ => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_arrays_parse() {
        assert_eq!(
            parse_text_array("{a,\"b c\",NULL,\"NULL\"}"),
            vec![
                Some("a".into()),
                Some("b c".into()),
                None,
                Some("NULL".into())
            ]
        );
        assert!(parse_text_array("{}").is_empty());
        assert_eq!(quote_identifier("orders"), "orders");
        assert_eq!(quote_identifier("Big Orders"), "\"Big Orders\"");
    }

    #[test]
    fn read_only_users_hold_only_read_privileges() {
        assert!(HasPrivilege::holds(true, "SELECT"));
        assert!(HasPrivilege::holds(true, "INSERT, SELECT"));
        assert!(!HasPrivilege::holds(true, "INSERT"));
        assert!(HasPrivilege::holds(false, "DELETE"));
    }
}

/// `pg_like_escape(pattern, escape)`: a LIKE pattern with escape character `escape`
/// rewritten to use the backslash, the only escape DataFusion's LIKE takes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LikeEscape {
    signature: Signature,
}

impl LikeEscape {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(2, Volatility::Immutable),
        })
    }
}

fn to_backslash_escapes(pattern: &str, escape: char) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            out.push('\\');
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

impl ScalarUDFImpl for LikeEscape {
    udf_head!("pg_like_escape", Utf8);
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let patterns = to_strings(&args.args[0], rows)?;
        let escapes = to_strings(&args.args[1], rows)?;
        let mut out = StringBuilder::new();
        for (pattern, escape) in patterns.iter().zip(&escapes) {
            match (pattern, escape.as_deref().and_then(|e| e.chars().next())) {
                (Some(p), Some(e)) => out.append_value(to_backslash_escapes(p, e)),
                (Some(p), None) => out.append_value(p),
                (None, _) => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `json_build_object(k1, v1, …)`: a JSON object as text.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonBuildObject {
    signature: Signature,
}

impl JsonBuildObject {
    pub fn udf() -> ScalarUDF {
        use datafusion::logical_expr::TypeSignature;
        ScalarUDF::from(Self {
            // `json_build_object()` is `{}`, as in PostgreSQL.
            signature: Signature::one_of(
                vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
                Volatility::Immutable,
            ),
        })
    }
}

/// Field metadata naming the PostgreSQL type of a text column whose values are that type's
/// text form (`json`); the wire front end describes the column with it.
pub const PG_TYPE_KEY: &str = "abacus.pg_type";

impl ScalarUDFImpl for JsonBuildObject {
    udf_head!("json_build_object", Utf8);
    fn return_field_from_args(
        &self,
        _: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let metadata = std::collections::HashMap::from([(PG_TYPE_KEY.into(), "json".into())]);
        Ok(Arc::new(
            datafusion::arrow::datatypes::Field::new(self.name(), DataType::Utf8, true)
                .with_metadata(metadata),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if !args.args.len().is_multiple_of(2) {
            return exec_err!("argument list must have even number of elements");
        }
        let rows = rows_of(&args);
        let kinds: Vec<DataType> = args.args.iter().map(|a| a.data_type()).collect();
        let columns = args
            .args
            .iter()
            .map(|a| to_strings(a, rows))
            .collect::<Result<Vec<_>>>()?;
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let mut object = serde_json::Map::new();
            for pair in (0..columns.len()).step_by(2) {
                let Some(key) = columns[pair][row].clone() else {
                    return exec_err!("null value not allowed for object key");
                };
                let value = match &columns[pair + 1][row] {
                    None => serde_json::Value::Null,
                    Some(v) if kinds[pair + 1] == DataType::Boolean => {
                        serde_json::Value::Bool(v == "true")
                    }
                    Some(v) if kinds[pair + 1].is_numeric() => v
                        .parse::<serde_json::Number>()
                        .map(serde_json::Value::Number)
                        .unwrap_or_else(|_| serde_json::Value::String(v.clone())),
                    Some(v) => serde_json::Value::String(v.clone()),
                };
                object.insert(key, value);
            }
            out.append_value(serde_json::Value::Object(object).to_string());
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn like_patterns_move_to_backslash_escapes() {
        assert_eq!(to_backslash_escapes("pg/_%", '/'), "pg\\_%");
        assert_eq!(to_backslash_escapes("a\\b//c", '/'), "a\\\\b\\/c");
    }
}

/// `pg_expandarray(arr)`: the elements of `arr` with their 1-based positions, as a list of
/// `{x, n}` records; `information_schema._pg_expandarray(arr)` (pgjdbc's primary keys)
/// becomes `unnest(pg_expandarray(arr))`. Accepts arrays and the text form of int2vector
/// (`'1 2'`), which is how the catalog snapshot holds `pg_index.indkey`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ExpandArray {
    signature: Signature,
}

impl ExpandArray {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(1, Volatility::Immutable),
        })
    }

    fn element(arg: &DataType) -> DataType {
        match arg {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                f.data_type().clone()
            }
            _ => DataType::Int16,
        }
    }

    fn record(element: DataType) -> datafusion::arrow::datatypes::Fields {
        use datafusion::arrow::datatypes::Field;
        vec![
            Field::new("x", element, true),
            Field::new("n", DataType::Int32, false),
        ]
        .into()
    }
}

impl ScalarUDFImpl for ExpandArray {
    fn name(&self) -> &str {
        "pg_expandarray"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let record = DataType::Struct(Self::record(Self::element(&args[0])));
        Ok(DataType::new_list(record, true))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{Int16Builder, Int32Array, ListArray, StructArray};
        use datafusion::arrow::buffer::OffsetBuffer;
        let rows = rows_of(&args);
        let input = args.args[0].to_array(rows)?;
        let element = Self::element(input.data_type());
        // One list of elements per row: the array's own, or the parsed int2vector text.
        let (values, lengths): (ArrayRef, Vec<usize>) = match input.data_type() {
            DataType::List(_) => {
                let list = input.as_list::<i32>();
                let lengths = (0..rows)
                    .map(|i| {
                        if list.is_null(i) {
                            0
                        } else {
                            list.value_length(i) as usize
                        }
                    })
                    .collect();
                let offsets = list.value_offsets();
                let values = list
                    .values()
                    .slice(offsets[0] as usize, (offsets[rows] - offsets[0]) as usize);
                (values, lengths)
            }
            _ => {
                let mut values = Int16Builder::new();
                let mut lengths = Vec::with_capacity(rows);
                for text in to_strings(&args.args[0], rows)? {
                    let parts: Vec<i16> = text
                        .as_deref()
                        .unwrap_or("")
                        .trim_matches(|c| c == '{' || c == '}')
                        .split([' ', ','])
                        .filter_map(|p| p.trim().parse().ok())
                        .collect();
                    lengths.push(parts.len());
                    values.append_slice(&parts);
                }
                (Arc::new(values.finish()) as ArrayRef, lengths)
            }
        };
        let positions: Int32Array = lengths
            .iter()
            .flat_map(|&n| 1..=n as i32)
            .collect::<Vec<_>>()
            .into();
        let records = StructArray::try_new(
            Self::record(element.clone()),
            vec![values, Arc::new(positions)],
            None,
        )?;
        let field = Arc::new(datafusion::arrow::datatypes::Field::new(
            "item",
            DataType::Struct(Self::record(element)),
            true,
        ));
        let list = ListArray::try_new(
            field,
            OffsetBuffer::from_lengths(lengths),
            Arc::new(records),
            None,
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// `pg_int_array(x)`: the catalog snapshot keeps int2vector, oidvector and int2[] columns
/// (`pg_index.indkey`, `pg_constraint.conkey`) as text (`'1 2'`, `'[1]'`); this reads them
/// as integer lists so that `unnest`, subscripts and `generate_subscripts` work on them.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntArray {
    signature: Signature,
}

impl IntArray {
    pub fn udf() -> ScalarUDF {
        ScalarUDF::from(Self {
            signature: Signature::any(1, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for IntArray {
    fn name(&self) -> &str {
        "pg_int_array"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Int32, true))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{Int32Builder, ListBuilder};
        let rows = rows_of(&args);
        let input = args.args[0].to_array(rows)?;
        if matches!(
            input.data_type(),
            DataType::List(_) | DataType::LargeList(_)
        ) {
            let target = DataType::new_list(DataType::Int32, true);
            return Ok(ColumnarValue::Array(cast(&input, &target)?));
        }
        let mut out = ListBuilder::new(Int32Builder::new());
        for text in to_strings(&args.args[0], rows)? {
            match text {
                None => out.append_null(),
                Some(text) => {
                    for part in text
                        .trim_matches(|c| matches!(c, '{' | '}' | '[' | ']'))
                        .split([' ', ','])
                        .filter(|p| !p.trim().is_empty())
                    {
                        out.values().append_option(part.trim().parse::<i32>().ok());
                    }
                    out.append(true);
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
