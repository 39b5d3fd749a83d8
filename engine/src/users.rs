//! Users and what they may do: `CREATE USER name PASSWORD '…' [READ ONLY]`, `ALTER USER`,
//! `DROP USER`, and the read-only check every statement passes.

use abacus_catalog::{make_verifier, UserRecord};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::session::leading_words;
use crate::{Error, Output, Result, Session};

/// Who a session acts as. Sessions without one (the REPL, `-c`, scripts) belong to the
/// owner of the data directory and may do anything.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub name: String,
    pub read_only: bool,
    pub admin: bool,
}

const USAGE: &str = "CREATE USER name PASSWORD 'secret' [READ ONLY] [ADMIN] | \
                     ALTER USER name [PASSWORD 'secret'] [READ ONLY | READ WRITE] [ADMIN | NOADMIN] | \
                     DROP USER [IF EXISTS] name [, …]";

enum UserStatement {
    Create { name: String, options: Options },
    Alter { name: String, options: Options },
    Drop { if_exists: bool, names: Vec<String> },
}

#[derive(Default)]
struct Options {
    password: Option<String>,
    read_only: Option<bool>,
    admin: Option<bool>,
}

fn syntax(message: impl std::fmt::Display) -> Error {
    Error::Syntax(format!("{message}; expected {USAGE}"))
}

/// Parsing stays out of the async fns: sqlparser's `Parser` is not `Send`.
fn parse(sql: &str) -> Result<UserStatement> {
    let mut p = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .map_err(syntax)?;
    let verb = p.next_token().token;
    if !(p.parse_keyword(Keyword::USER) || p.parse_keyword(Keyword::ROLE)) {
        return Err(syntax("expected USER"));
    }
    let statement = match verb {
        Token::Word(ref w) if w.keyword == Keyword::DROP => {
            let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
            let names = p
                .parse_comma_separated(|p| p.parse_identifier())
                .map_err(syntax)?
                .into_iter()
                .map(|i| i.value)
                .collect();
            UserStatement::Drop { if_exists, names }
        }
        Token::Word(ref w) if matches!(w.keyword, Keyword::CREATE | Keyword::ALTER) => {
            let name = p.parse_identifier().map_err(syntax)?.value;
            let _ = p.parse_keyword(Keyword::WITH);
            let mut options = Options::default();
            loop {
                if p.parse_keyword(Keyword::PASSWORD) {
                    options.password =
                        Some(p.parse_literal_string().map_err(|e| {
                            syntax(format!("{e} (the password is a quoted string)"))
                        })?);
                } else if p.parse_keywords(&[Keyword::READ, Keyword::ONLY]) {
                    options.read_only = Some(true);
                } else if p.parse_keywords(&[Keyword::READ, Keyword::WRITE]) {
                    options.read_only = Some(false);
                } else if p.parse_keyword(Keyword::LOGIN) {
                    // Every user may log in; accepted for PostgreSQL scripts.
                } else if p.parse_keyword(Keyword::ADMIN) || p.parse_keyword(Keyword::SUPERUSER) {
                    options.admin = Some(true);
                } else if p.parse_keyword(Keyword::NOSUPERUSER) || parse_word(&mut p, "NOADMIN") {
                    options.admin = Some(false);
                } else {
                    break;
                }
            }
            if matches!(verb, Token::Word(ref w) if w.keyword == Keyword::CREATE) {
                UserStatement::Create { name, options }
            } else {
                UserStatement::Alter { name, options }
            }
        }
        _ => return Err(syntax("expected CREATE, ALTER or DROP")),
    };
    let _ = p.consume_token(&Token::SemiColon);
    match p.peek_token().token {
        Token::EOF => Ok(statement),
        other => Err(syntax(format!("unexpected {other}"))),
    }
}

fn parse_word(p: &mut Parser, word: &str) -> bool {
    match p.peek_token().token {
        Token::Word(w) if w.value.eq_ignore_ascii_case(word) => {
            p.next_token();
            true
        }
        _ => false,
    }
}

/// Whether `sql` is a user statement this module runs.
pub(crate) fn is_user_statement(sql: &str) -> bool {
    let words = leading_words(sql, 2);
    matches!(
        (
            words.first().map(String::as_str),
            words.get(1).map(String::as_str)
        ),
        (Some("CREATE" | "ALTER" | "DROP"), Some("USER" | "ROLE"))
    )
}

/// Statements that change data or the catalog, refused to READ ONLY users.
fn writes(sql: &str) -> bool {
    let words = leading_words(sql, 1);
    match words.first().map(String::as_str) {
        Some(
            "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE" | "CREATE" | "DROP" | "ALTER"
            | "RESTORE" | "GRANT" | "REVOKE" | "VACUUM" | "OPTIMIZE",
        ) => true,
        // COPY … TO only reads (also `COPY (SELECT … FROM t) TO`); COPY t FROM loads.
        // What does not parse is treated as a write.
        Some("COPY") => !matches!(
            Parser::parse_sql(&PostgreSqlDialect {}, sql).as_deref(),
            Ok([datafusion::sql::sqlparser::ast::Statement::Copy { to: true, .. }])
        ),
        _ => false,
    }
}

impl Session {
    /// Acts as `name` from now on (the server calls this after authentication).
    pub fn set_user(&self, user: SessionUser) {
        self.settings().force("session_authorization", &user.name);
        *self.user.lock() = Some(user);
    }

    /// Without users (trust on loopback): the name the client connected as, for
    /// `current_user` and the catalog; the session keeps the owner's rights.
    pub fn set_connected_name(&self, name: &str) {
        self.settings().force("session_authorization", name);
    }

    pub fn user(&self) -> Option<SessionUser> {
        self.user.lock().clone()
    }

    /// 42501 for a READ ONLY user's DDL or DML.
    pub(crate) fn check_may_run(&self, sql: &str) -> Result<()> {
        match self.user() {
            Some(user) if user.read_only && (writes(sql) || is_user_statement(sql)) => {
                Err(Error::PermissionDenied(format!(
                    "permission denied: user \"{}\" is READ ONLY and cannot run {}",
                    user.name,
                    leading_words(sql, 2).join(" ")
                )))
            }
            _ => Ok(()),
        }
    }

    pub(crate) async fn user_statement(&self, sql: &str) -> Result<Output> {
        let statement = parse(sql)?;
        let acting = self.user();
        let may_manage = acting.as_ref().is_none_or(|u| u.admin);
        let users = self.catalog().views();
        match statement {
            UserStatement::Create { name, options } => {
                if !may_manage {
                    return Err(denied(&acting, "create users"));
                }
                let password = options.password.ok_or_else(|| {
                    Error::Syntax(format!(
                        "CREATE USER {name} needs a password: CREATE USER {name} PASSWORD 'secret'"
                    ))
                })?;
                abacus_catalog::validate_name(&name)?;
                users.create_user(
                    &name,
                    UserRecord {
                        verifier: make_verifier(&password),
                        read_only: options.read_only.unwrap_or(false),
                        admin: options.admin.unwrap_or(false),
                    },
                )?;
                Ok(Output::command("CREATE ROLE"))
            }
            UserStatement::Alter { name, options } => {
                let only_own_password = acting.as_ref().is_some_and(|u| u.name == name)
                    && options.read_only.is_none()
                    && options.admin.is_none();
                if !may_manage && !only_own_password {
                    return Err(denied(&acting, "alter other users or their rights"));
                }
                let verifier = options.password.as_deref().map(make_verifier);
                users.alter_user(&name, |record| {
                    if let Some(v) = verifier {
                        record.verifier = v;
                    }
                    if let Some(r) = options.read_only {
                        record.read_only = r;
                    }
                    if let Some(a) = options.admin {
                        record.admin = a;
                    }
                })?;
                Ok(Output::command("ALTER ROLE"))
            }
            UserStatement::Drop { if_exists, names } => {
                if !may_manage {
                    return Err(denied(&acting, "drop users"));
                }
                for name in &names {
                    if acting.as_ref().is_some_and(|u| &u.name == name) {
                        return Err(Error::PermissionDenied(format!(
                            "current user \"{name}\" cannot be dropped"
                        )));
                    }
                    if !if_exists && users.user(name)?.is_none() {
                        return Err(abacus_catalog::Error::UserNotFound(name.clone()).into());
                    }
                }
                for name in &names {
                    if !users.drop_user(name)? {
                        self.notice(format!("role \"{name}\" does not exist, skipping"));
                    }
                }
                Ok(Output::command("DROP ROLE"))
            }
        }
    }
}

fn denied(acting: &Option<SessionUser>, what: &str) -> Error {
    let name = acting.as_ref().map(|u| u.name.as_str()).unwrap_or("");
    Error::PermissionDenied(format!(
        "permission denied: user \"{name}\" may not {what} (only ADMIN users may)"
    ))
}
