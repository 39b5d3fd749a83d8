//! PostgreSQL's system catalog for clients (psql `\d`, pgjdbc metadata, Metabase, Grafana):
//! `pg_catalog` tables and functions from datafusion-pg-catalog over the session's own
//! catalog, plus its SQL rewrites for PostgreSQL syntax DataFusion does not plan.
//!
//! We take the crate's tables, functions and AST rewrite rules, but not its
//! `PostgresCompatibilityParser`: that one also replaces whole client queries matched token
//! by token with empty stubs, which breaks as soon as a client changes its query text.

use std::sync::{Arc, LazyLock};

use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion_pg_catalog::pg_catalog::context::{PgCatalogContextProvider, Role};
use datafusion_pg_catalog::sql::rules::{
    AliasDuplicatedProjectionRewrite, CurrentUserVariableToSessionUserFunctionCall,
    FixArrayLiteral, FixVersionColumnName, PrependUnqualifiedPgTableName,
    RemoveSubqueryFromProjection, ResolveUnqualifiedIdentifier, RewriteArrayAnyAllOperation,
    RewritePgCatalogOperator, RewriteRegCastToSubquery, SqlStatementRewriteRule,
    StripCallableQualifier, StripCollate,
};

mod ast;
mod attribute_typmods;
mod class_table;
mod columns;
mod constraints;
mod empty;
mod extract;
mod from_functions;
#[macro_use]
mod functions;
mod in_subqueries;
mod order_subqueries;
mod regclass;
mod result_types;
mod rules;
mod settings_table;

pub use functions::PG_TYPE_KEY;
pub use rules::DUPLICATE_MARK;

use crate::names::CATALOG_NAME;
use crate::settings::Settings;
use crate::users::SessionUser;
use crate::Result;

/// What the catalog functions need to know of the session.
pub(crate) struct SessionInfo {
    pub user: Arc<parking_lot::Mutex<Option<SessionUser>>>,
    pub settings: Arc<Settings>,
    pub catalog: Arc<abacus_catalog::Catalog>,
}

/// Registers `pg_catalog` and the PostgreSQL catalog functions in `ctx`; ours replace the
/// crate's where it answers without looking (privileges).
pub(crate) fn install(ctx: &SessionContext, session: SessionInfo) -> Result<()> {
    datafusion_pg_catalog::setup_pg_catalog(ctx, CATALOG_NAME, Roles(session.catalog.clone()))
        .map_err(|e| *e)?;
    if let Some(catalog) = ctx.catalog(CATALOG_NAME) {
        if let Some(inner) = catalog.schema("pg_catalog") {
            catalog.register_schema(
                "pg_catalog",
                Arc::new(settings_table::WithSettings {
                    inner,
                    settings: session.settings.clone(),
                    catalogs: ctx.state().catalog_list().clone(),
                    oids: Default::default(),
                }),
            )?;
        }
    }
    for name in [
        "has_table_privilege",
        "has_schema_privilege",
        "has_database_privilege",
        "has_any_column_privilege",
        "has_column_privilege",
    ] {
        ctx.register_udf(functions::HasPrivilege::udf(
            name,
            session.user.clone(),
            session.catalog.clone(),
        ));
    }
    ctx.register_udf(functions::SetConfig::udf(session.settings.clone()));
    for name in ["session_user", "current_user"] {
        ctx.register_udf(functions::SessionUserName::udf(
            name,
            session.settings.clone(),
        ));
    }
    ctx.register_udf(functions::Format::udf());
    ctx.register_udf(functions::PgArrayHas::udf());
    ctx.register_udf(functions::LikeEscape::udf());
    ctx.register_udf(functions::JsonBuildObject::udf());
    ctx.register_udf(columns::PgColumnType::udf());
    ctx.register_udf(functions::ExpandArray::udf());
    ctx.register_udf(functions::IntArray::udf());
    ctx.register_udf(regclass::RegclassLookup::udf());
    for udf in result_types::RegName::udfs() {
        ctx.register_udf(udf);
    }
    ctx.register_udf(result_types::VectorOut::udf());
    ctx.register_udf(result_types::NameOut::udf());
    Ok(())
}

/// The crate's rewrite rules, in the crate's order (regclass casts are resolved before
/// scalar subqueries in projections are limited).
static RULES: LazyLock<Vec<Arc<dyn SqlStatementRewriteRule>>> = LazyLock::new(|| {
    vec![
        Arc::new(AliasDuplicatedProjectionRewrite),
        Arc::new(ResolveUnqualifiedIdentifier),
        Arc::new(RewriteArrayAnyAllOperation),
        Arc::new(PrependUnqualifiedPgTableName),
        Arc::new(StripCallableQualifier),
        Arc::new(FixArrayLiteral),
        Arc::new(CurrentUserVariableToSessionUserFunctionCall),
        Arc::new(StripCollate),
        Arc::new(RewritePgCatalogOperator),
        Arc::new(RewriteRegCastToSubquery::new()),
        Arc::new(RemoveSubqueryFromProjection),
        Arc::new(FixVersionColumnName),
    ]
});

/// Whether `sql` may need the PostgreSQL rewrites: catalog queries and PostgreSQL-only
/// syntax. Plain analytics queries are left exactly as written (some rules, such as the
/// LIMIT 1 on projected subqueries, would change their meaning).
pub(crate) fn needs_rewrite(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    [
        "pg_",
        "information_schema",
        "::reg",
        "::oid",
        "operator(",
        "collate",
        "current_user",
        "version()",
        "set_config",
        "format(",
        "any(",
        "array(",
        "escape",
        "json_build_object",
    ]
    .iter()
    .any(|cue| lower.contains(cue))
}

/// Applies the PostgreSQL rewrites to a parsed statement when its text calls for them;
/// `default_schema` is the one visible schema besides pg_catalog.
/// With `pg_names`, every query's result columns get PostgreSQL's names and functions in
/// FROM behave as in PostgreSQL (wire clients); `is_table_function` knows the session's
/// table functions.
pub(crate) fn rewrite(
    statement: DFStatement,
    sql: &str,
    default_schema: &str,
    pg_names: bool,
    is_table_function: &dyn Fn(&str) -> bool,
) -> DFStatement {
    match statement {
        DFStatement::Statement(mut ast) if pg_names && !needs_rewrite(sql) => {
            rules::name_columns(&mut ast);
            from_functions::rewrite(&mut ast, is_table_function, true);
            order_subqueries::rewrite(&mut ast);
            in_subqueries::rewrite(&mut ast);
            extract::rewrite(&mut ast);
            DFStatement::Statement(ast)
        }
        DFStatement::Statement(ast) if needs_rewrite(sql) => {
            let mut ast = *ast;
            rules::name_columns(&mut ast);
            // Before the ORDER BY rewrite, which may move the select list into a derived table.
            result_types::rewrite(&mut ast, default_schema);
            if pg_names {
                extract::rewrite(&mut ast);
            }
            from_functions::rewrite(&mut ast, is_table_function, pg_names);
            order_subqueries::rewrite(&mut ast);
            constraints::rewrite(&mut ast);
            // The REPL's \d shows DataFusion's types; drivers get PostgreSQL's.
            if pg_names {
                columns::rewrite(&mut ast);
            }
            let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut ast, |e| {
                if let Some(new) =
                    regclass::dynamic_cast(e, default_schema).and_then(|t| rules::parse_expr(&t))
                {
                    *e = new;
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
            empty::rewrite(&mut ast);
            let visible = format!("'pg_catalog', '{}'", default_schema.replace('\'', "''"));
            rules::rewrite_expressions(&mut ast, &visible);
            // After the catalog functions: their templates bring IN subqueries of their own.
            in_subqueries::rewrite(&mut ast);
            for rule in RULES.iter() {
                ast = rule.rewrite(ast);
            }
            DFStatement::Statement(Box::new(ast))
        }
        other => other,
    }
}

/// pg_roles lists the users of the data directory; with none, the owner `abacus`.
#[derive(Debug, Clone)]
struct Roles(Arc<abacus_catalog::Catalog>);

#[async_trait::async_trait]
impl PgCatalogContextProvider for Roles {
    async fn roles(&self) -> Vec<String> {
        let users = self.0.views().users().unwrap_or_default();
        if users.is_empty() {
            return vec!["abacus".into()];
        }
        users.into_keys().collect()
    }

    async fn role(&self, name: &str) -> Option<Role> {
        let users = self.0.views().users().unwrap_or_default();
        let admin = match users.get(name) {
            Some(record) => record.admin,
            None if users.is_empty() && name == "abacus" => true,
            None => return None,
        };
        Some(Role {
            name: name.to_string(),
            is_superuser: admin,
            can_login: true,
            can_create_db: false,
            can_create_role: admin,
            can_create_user: admin,
            can_replication: false,
            grants: Vec::new(),
            inherited_roles: Vec::new(),
        })
    }
}
